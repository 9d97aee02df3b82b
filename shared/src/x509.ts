// X.509 for every part (a separate face of shared/, kept out of shared/src/index.ts because it loads
// @peculiar/x509): P-256 keys over WebCrypto, PEM, CSRs. The fleet CA's issuing lives in broker/src/pki.
import { webcrypto } from 'node:crypto';
import 'reflect-metadata'; // @peculiar/x509's DI container (tsyringe) needs it loaded first
import * as x509 from '@peculiar/x509';

export type CryptoKey = webcrypto.CryptoKey;
export type X509Key = Parameters<typeof x509.PublicKey.create>[0] &
  Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys']['privateKey'];

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

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

/** A CSR for a P-256 key with CN = deviceId (made on the device; used by enrolment and renewal). */
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

/** The SPKI (DER) of a public key, to compare a certificate's key with the one we hold. */
export async function spki(key: CryptoKey): Promise<Buffer> {
  return Buffer.from(await webcrypto.subtle.exportKey('spki', key));
}

export { x509 };
