// X.509 on @peculiar/x509 over WebCrypto: P-256 keys, the fleet CA, server and device certificates, CSRs.
import { webcrypto, randomBytes, X509Certificate as NodeX509 } from 'node:crypto';
import 'reflect-metadata'; // @peculiar/x509's DI container (tsyringe) needs it loaded first
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type X509Key = Parameters<typeof x509.PublicKey.create>[0] & Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys']['privateKey'];

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
/** Certificates are valid from a little in the past so a device whose clock lags still accepts them. */
const BACKDATE_MS = 5 * 60_000;

export interface KeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

export async function generateKeyPair(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as KeyPair;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64.replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

export async function importPrivateKeyPem(text: string): Promise<CryptoKey> {
  const b64 = text.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  return webcrypto.subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), EC, true, ['sign']);
}

export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive INTEGER (RFC 5280 §4.1.2.2)
  if (b[0] === 0) b[0] = 1;
  return b.toString('hex');
}

export interface CaBundle {
  readonly cert: x509.X509Certificate;
  readonly key: CryptoKey;
}

export async function createCa(name: string, validityDays: number, now = Date.now()): Promise<{ cert: x509.X509Certificate; keys: KeyPair }> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${name}`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + validityDays * DAY),
    signingAlgorithm: SIGN,
    keys: keys as unknown as { privateKey: X509Key; publicKey: X509Key },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as X509Key),
    ],
  });
  return { cert, keys };
}

export interface SanEntry {
  readonly type: 'dns' | 'ip';
  readonly value: string;
}

export async function issueServerCert(ca: CaBundle, publicKey: CryptoKey, sans: readonly SanEntry[], validityDays: number, now = Date.now()) {
  const cn = sans.find((s) => s.type === 'dns')?.value ?? 'edgeward-fleet-server';
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${cn}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + validityDays * DAY),
    signingAlgorithm: SIGN,
    publicKey: publicKey as unknown as X509Key,
    signingKey: ca.key as unknown as X509Key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sans.map((s) => ({ type: s.type, value: s.value }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
}

/** A device certificate: CN = device id, client authentication only. */
export async function issueDeviceCert(ca: CaBundle, deviceId: string, publicKey: CryptoKey | x509.PublicKey, validityDays: number, now = Date.now()) {
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${deviceId}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + validityDays * DAY),
    signingAlgorithm: SIGN,
    publicKey: publicKey as unknown as X509Key,
    signingKey: ca.key as unknown as X509Key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
}

/** A CSR for a P-256 key with CN = deviceId (made on the device; used by enrolment). */
export async function createCsr(deviceId: string, keys: KeyPair): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${deviceId}`,
    keys: keys as unknown as { privateKey: X509Key; publicKey: X509Key },
    signingAlgorithm: SIGN,
  });
  return csr.toString('pem');
}

export function parseCsr(pemText: string): x509.Pkcs10CertificateRequest {
  return new x509.Pkcs10CertificateRequest(pemText);
}

export function parseCertificate(pemText: string): x509.X509Certificate {
  return new x509.X509Certificate(pemText);
}

/** Summary fields stored in the registry, read with node:crypto for fingerprints. */
export function certificateFacts(pemText: string) {
  const c = new NodeX509(pemText);
  return {
    serial: c.serialNumber.toLowerCase().replace(/^0+/, ''),
    fingerprint256: c.fingerprint256,
    notBefore: Date.parse(c.validFrom),
    notAfter: Date.parse(c.validTo),
    subjectCn: /(?:^|\n)CN=([^\n]*)/.exec(c.subject)?.[1] ?? '',
  };
}

export function parseSans(items: readonly string[]): SanEntry[] {
  const out: SanEntry[] = [];
  for (const item of items.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
    const m = /^(DNS|IP):(.+)$/i.exec(item);
    if (!m) throw new Error(`--san ${JSON.stringify(item)} is not DNS:name or IP:address`);
    out.push({ type: m[1]!.toLowerCase() === 'dns' ? 'dns' : 'ip', value: m[2]! });
  }
  return out;
}

export { x509 };
