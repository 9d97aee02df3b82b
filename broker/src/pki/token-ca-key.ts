// A fleet CA key held in a PKCS#11 token. @peculiar/x509 signs through a WebCrypto `subtle.sign`; the crypto
// provider below routes that one call to the token for a TokenCaKey and leaves every other call to node:crypto.
import { webcrypto } from 'node:crypto';
import { generatePkcs11Key, openPkcs11Key, Pkcs11Error, type Pkcs11Key } from '../../../shared/src/pkcs11/index.js';
import { EC } from '../../../shared/src/x509.js';

/** The private half of the CA, inside a token: it signs (ECDSA P-256 with SHA-256) and is never exported. */
export class TokenCaKey {
  readonly type = 'private';
  readonly extractable = false;
  readonly algorithm = { ...EC };
  readonly usages: webcrypto.KeyUsage[] = ['sign'];
  constructor(
    readonly uri: string,
    readonly key: Pkcs11Key,
  ) {}

  /** The public half as a WebCrypto key (for the self-signed certificate and its key identifier). */
  publicKey(): Promise<webcrypto.CryptoKey> {
    const spki = this.key.publicKeyObject.export({ format: 'der', type: 'spki' });
    return webcrypto.subtle.importKey('spki', spki, EC, true, ['verify']);
  }
}

function asCaKey(key: Pkcs11Key, uri: string): TokenCaKey {
  if (key.algorithm !== 'p256') {
    key.close();
    throw new Pkcs11Error('PKCS11_UNSUPPORTED', `${uri} is an ${key.algorithm} key; the fleet CA key is ECDSA P-256`);
  }
  return new TokenCaKey(uri, key);
}

/** Makes a new non-extractable P-256 key in the token for the CA. */
export function generateTokenCaKey(uri: string): TokenCaKey {
  return asCaKey(generatePkcs11Key(uri, 'p256'), uri);
}

/** Opens the CA key a URI names. */
export function openTokenCaKey(uri: string): TokenCaKey {
  return asCaKey(openPkcs11Key(uri), uri);
}

const subtle = new Proxy(webcrypto.subtle, {
  get(target, prop) {
    if (prop === 'sign') {
      return async (alg: unknown, key: unknown, data: ArrayBuffer | ArrayBufferView) => {
        if (!(key instanceof TokenCaKey)) return target.sign(alg as never, key as webcrypto.CryptoKey, data);
        const bytes = ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
          : new Uint8Array(data);
        // r‖s, the form WebCrypto returns for ECDSA; @peculiar/x509 converts it to DER.
        return key.key.sign(bytes).slice().buffer;
      };
    }
    const value = Reflect.get(target, prop, target) as unknown;
    return typeof value === 'function' ? value.bind(target) : value;
  },
});

/** node:crypto's WebCrypto, except that `subtle.sign` with a TokenCaKey signs inside the token. */
export const caCrypto = {
  subtle,
  getRandomValues: webcrypto.getRandomValues.bind(webcrypto),
  randomUUID: webcrypto.randomUUID.bind(webcrypto),
} as unknown as webcrypto.Crypto;
