// Strict Ed25519: lengths, canonical S (S < L), canonical and non-small-order A and R, then the cofactorless
// equation. tweetnacl alone accepts S >= L and small-order keys (5 Wycheproof misses). Keys are made and messages
// signed with tweetnacl; the equation is checked by node:crypto (OpenSSL), the same cofactorless check as
// tweetnacl's (encode [S]B - [k]A, compare with R), some 50 times faster: an update verifies several signatures
// in its critical path, and tweetnacl's 10-20 ms each were a fifth of a 64 MiB update on loopback.
import { createPublicKey, randomBytes, verify as verifyWithOpenSsl } from 'node:crypto';
import nacl from 'tweetnacl';
import { decodePoint, isCanonicalScalar, isSmallOrderPoint } from './edwards25519.js';
import { KeyError } from './key-error.js';

export const PUBLIC_KEY_LENGTH = 32;
export const SECRET_KEY_LENGTH = 64;
export const SEED_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

export interface Ed25519KeyPair {
  /** 32-byte compressed point A. */
  readonly publicKey: Uint8Array;
  /** 64 bytes, tweetnacl layout: the 32-byte seed followed by the public key. */
  readonly secretKey: Uint8Array;
}

/** Why a signature was refused; 'valid' when it was not. */
export type SignatureCheck =
  | 'valid'
  | 'bad-length' // signature not 64 bytes or key not 32 bytes
  | 'key-not-canonical' // A is not a canonical encoding of a curve point
  | 'key-small-order' // A has order 1, 2, 4 or 8
  | 's-not-canonical' // S >= L: a malleable signature (RFC 8032 §5.1.7)
  | 'r-not-canonical' // R is not a canonical encoding of a curve point
  | 'r-small-order' // R has small order (libsodium refuses these too)
  | 'mismatch'; // the equation [S]B = R + [k]A does not hold: wrong key, message or signature

/** A fresh key pair from the operating system's CSPRNG. */
export function generateKeyPair(): Ed25519KeyPair {
  return keyPairFromSeed(randomBytes(SEED_LENGTH));
}

/** The key pair for a 32-byte seed (RFC 8032 §5.1.5); PKCS#8 files store exactly this seed. */
export function keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH) {
    throw new KeyError('KEY_INVALID', `an Ed25519 seed is ${SEED_LENGTH} bytes, got ${lengthOf(seed)}`);
  }
  const kp = nacl.sign.keyPair.fromSeed(Uint8Array.from(seed));
  return { publicKey: kp.publicKey, secretKey: kp.secretKey };
}

/**
 * Signs `message` with a 64-byte secret key (seed ‖ public key). The public half is re-derived from the seed
 * and must match: signing with a mismatched public key would leak the private key.
 */
export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_LENGTH) {
    throw new KeyError(
      'KEY_INVALID',
      `an Ed25519 secret key is ${SECRET_KEY_LENGTH} bytes, got ${lengthOf(secretKey)}`,
    );
  }
  const kp = keyPairFromSeed(secretKey.subarray(0, SEED_LENGTH));
  if (!equalBytes(kp.publicKey, secretKey.subarray(SEED_LENGTH))) {
    throw new KeyError('KEY_INVALID', 'the secret key holds a public key that does not belong to its seed');
  }
  return nacl.sign.detached(Uint8Array.from(message), kp.secretKey);
}

/** Checks the public key alone: canonical encoding of a curve point that is not of small order. */
export function checkPublicKey(
  publicKey: Uint8Array,
): 'valid' | 'bad-length' | 'key-not-canonical' | 'key-small-order' {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) return 'bad-length';
  const A = decodePoint(publicKey);
  if (!A) return 'key-not-canonical';
  if (isSmallOrderPoint(A)) return 'key-small-order';
  return 'valid';
}

/** Verifies strictly and says why a signature was refused. */
export function checkSignature(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): SignatureCheck {
  if (!(message instanceof Uint8Array)) return 'bad-length';
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return 'bad-length';
  const key = checkPublicKey(publicKey);
  if (key !== 'valid') return key;
  if (!isCanonicalScalar(signature.subarray(32))) return 's-not-canonical';
  const R = decodePoint(signature.subarray(0, 32));
  if (!R) return 'r-not-canonical';
  if (isSmallOrderPoint(R)) return 'r-small-order';
  return verifyWithOpenSsl(null, message, publicKeyObject(publicKey), signature) ? 'valid' : 'mismatch';
}

/** RFC 8410 SubjectPublicKeyInfo of an Ed25519 key, less the 32 key bytes. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function publicKeyObject(publicKey: Uint8Array) {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

/** True only for a valid, canonical signature by a strong key. Never throws. */
export function verifyStrict(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return checkSignature(signature, message, publicKey) === 'valid';
  } catch {
    return false;
  }
}

/** Constant-time only in the sense that it reads every byte; used for public data. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function lengthOf(v: unknown): string {
  return v instanceof Uint8Array ? `${v.length} bytes` : typeof v;
}
