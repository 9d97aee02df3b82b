// An API token signing key held outside the database: an Ed25519 key in a PKCS#11 token that signs each JWT there.
// jose signs only with keys it holds, so the compact JWS (RFC 7515 §7.1) is put together here; verification
// stays jose's jwtVerify in access-tokens.ts, the same path as for the database keys. Operator credentials
// (proofs of possession, command signatures) may be such keys too.
import { createHash, type KeyObject } from 'node:crypto';
import { parsePrivateKeyPem, sign } from '../../../shared/src/crypto/index.js';
import { isPkcs11Uri, openPkcs11Key, Pkcs11Error } from '../../../shared/src/pkcs11/index.js';

export interface TokenSigner {
  /** 16 hex digits, as the database keys' kids: derived from the public key, so it is stable across restarts. */
  readonly kid: string;
  readonly publicKey: KeyObject;
  sign(data: Uint8Array): Uint8Array;
}

/** Opens the Ed25519 key a PKCS#11 URI names as the API's token signing key. */
export function tokenSignerFromUri(uri: string): TokenSigner {
  const key = openPkcs11Key(uri);
  if (key.algorithm !== 'ed25519') {
    key.close();
    throw new Pkcs11Error('PKCS11_UNSUPPORTED', `${uri} is a ${key.algorithm} key; API tokens are signed with Ed25519`);
  }
  const kid = createHash('sha256').update(key.publicKey).digest('hex').slice(0, 16);
  return { kid, publicKey: key.publicKeyObject, sign: (data) => key.sign(data) };
}

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');

/** A compact JWS: BASE64URL(header) . BASE64URL(payload) . BASE64URL(EdDSA signature over the first two). */
export function signCompactJws(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signer: { sign(data: Uint8Array): Uint8Array },
) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${b64url(signer.sign(Buffer.from(input, 'ascii')))}`;
}

/** An operator credential as a signer: an Ed25519 PEM key file's contents, or a PKCS#11 URI of a key in a token. */
export interface OperatorSigner {
  /** The raw 32-byte Ed25519 public key (its keyId is the operator's kid). */
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export function operatorSigner(credential: string, what: string): OperatorSigner {
  if (isPkcs11Uri(credential)) {
    const uri = credential.trim();
    const key = openPkcs11Key(uri);
    if (key.algorithm !== 'ed25519') {
      key.close();
      throw new Pkcs11Error('PKCS11_UNSUPPORTED', `${uri} is a ${key.algorithm} key; operator keys are Ed25519`);
    }
    return { publicKey: key.publicKey, sign: (m) => key.sign(m) };
  }
  const pair = parsePrivateKeyPem(credential, what);
  return { publicKey: pair.publicKey, sign: (m) => sign(m, pair.secretKey) };
}
