// The fleet CA: creating it and issuing server and device certificates (X.509 basics live in shared/src/x509.ts).
import { randomBytes, X509Certificate as NodeX509 } from 'node:crypto';
import { SIGN, generateKeyPair, x509, type CryptoKey, type X509Key } from '../../../shared/src/x509.js';
import { caCrypto, type TokenCaKey } from './token-ca-key.js';

export {
  generateKeyPair,
  privateKeyPem,
  importPrivateKeyPem,
  createCsr,
  parseCsr,
  parseCertificate,
  x509,
  type KeyPair,
} from '../../../shared/src/x509.js';

const DAY = 86_400_000;
/** Certificates are valid from a little in the past so a device whose clock lags still accepts them. */
const BACKDATE_MS = 5 * 60_000;

export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive INTEGER (RFC 5280 §4.1.2.2)
  if (b[0] === 0) b[0] = 1;
  return b.toString('hex');
}

export interface SanEntry {
  readonly type: 'dns' | 'ip';
  readonly value: string;
}

export interface CaBundle {
  readonly cert: x509.X509Certificate;
  /** A WebCrypto key (from DIR/pki/ca.key), or a key inside a PKCS#11 token. */
  readonly key: CryptoKey | TokenCaKey;
  /** The backend's X25519 sealing public key (pki/seal.pub), which devices get with their credentials. */
  readonly sealPublicKey?: Uint8Array;
}

/** Creates the CA: a new key pair, or the key already made in a token, and its self-signed certificate. */
export async function createCa(
  name: string,
  validityDays: number,
  now = Date.now(),
  tokenKey?: TokenCaKey,
): Promise<{ cert: x509.X509Certificate; keys: { privateKey: CryptoKey | TokenCaKey; publicKey: CryptoKey } }> {
  const keys: { privateKey: CryptoKey | TokenCaKey; publicKey: CryptoKey } =
    tokenKey === undefined ? await generateKeyPair() : { privateKey: tokenKey, publicKey: await tokenKey.publicKey() };
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
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
    },
    caCrypto,
  );
  return { cert, keys };
}

/** An end-entity certificate from the fleet CA: not a CA, signature + key agreement, one extended key usage. */
async function issueLeaf(
  ca: CaBundle,
  cn: string,
  publicKey: CryptoKey | x509.PublicKey,
  validityDays: number,
  now: number,
  usage: string,
  extra: x509.Extension[] = [],
) {
  return x509.X509CertificateGenerator.create(
    {
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
        new x509.ExtendedKeyUsageExtension([usage]),
        ...extra,
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
      ],
    },
    caCrypto,
  );
}

/** The fleet server's certificate: server authentication for the names in `sans`. */
export function issueServerCert(
  ca: CaBundle,
  publicKey: CryptoKey,
  sans: readonly SanEntry[],
  validityDays: number,
  now = Date.now(),
) {
  const cn = sans.find((s) => s.type === 'dns')?.value ?? 'edgeward-fleet-server';
  const san = new x509.SubjectAlternativeNameExtension(sans.map((s) => ({ type: s.type, value: s.value })));
  return issueLeaf(ca, cn, publicKey, validityDays, now, x509.ExtendedKeyUsage.serverAuth, [san]);
}

/** A device certificate: CN = device id, client authentication only. */
export function issueDeviceCert(
  ca: CaBundle,
  deviceId: string,
  publicKey: CryptoKey | x509.PublicKey,
  validityDays: number,
  now = Date.now(),
) {
  return issueLeaf(ca, deviceId, publicKey, validityDays, now, x509.ExtendedKeyUsage.clientAuth);
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
  for (const item of items
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(DNS|IP):(.+)$/i.exec(item);
    if (!m) throw new Error(`--san ${JSON.stringify(item)} is not DNS:name or IP:address`);
    out.push({ type: m[1]!.toLowerCase() === 'dns' ? 'dns' : 'ip', value: m[2]! });
  }
  return out;
}
