// Ed25519 keys as PEM: PKCS#8 private keys and SPKI public keys (RFC 8410), the formats OpenSSL writes
// with `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout`. Parsing goes through node:crypto.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import {
  checkPublicKey,
  equalBytes,
  keyPairFromSeed,
  PUBLIC_KEY_LENGTH,
  SEED_LENGTH,
  type Ed25519KeyPair,
} from './ed25519.js';
import { KeyError } from './key-error.js';

// RFC 8410 §4 and §7: the fixed DER prefixes for id-Ed25519 (1.3.101.112) keys.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** PEM files larger than this are refused before parsing (an Ed25519 PEM is about 120 bytes). */
export const MAX_PEM_BYTES = 16 * 1024;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** SPKI PEM ("PUBLIC KEY") for a raw 32-byte public key. */
export function publicKeyToPem(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) {
    throw new KeyError('KEY_INVALID', `an Ed25519 public key is ${PUBLIC_KEY_LENGTH} bytes`);
  }
  return toPem('PUBLIC KEY', Buffer.concat([SPKI_PREFIX, publicKey]));
}

/** PKCS#8 v1 PEM ("PRIVATE KEY") holding the seed; accepts a 64-byte secret key or a 32-byte seed. */
export function privateKeyToPem(secretKey: Uint8Array): string {
  if (!(secretKey instanceof Uint8Array) || (secretKey.length !== 64 && secretKey.length !== SEED_LENGTH)) {
    throw new KeyError('KEY_INVALID', 'an Ed25519 secret key is 64 bytes (or a 32-byte seed)');
  }
  return toPem('PRIVATE KEY', Buffer.concat([PKCS8_PREFIX, secretKey.subarray(0, SEED_LENGTH)]));
}

interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

function readPemBlock(pem: string | Uint8Array, what: string): PemBlock {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  if (text.length > MAX_PEM_BYTES)
    throw new KeyError('KEY_INVALID', `${what} is larger than ${MAX_PEM_BYTES} bytes; not a single Ed25519 PEM key`);
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length !== 1) {
    throw new KeyError('KEY_INVALID', `${what} must hold exactly one PEM block, found ${blocks.length}`);
  }
  const label = blocks[0]![1]!;
  if (label === 'ENCRYPTED PRIVATE KEY') {
    throw new KeyError('KEY_INVALID', `${what} is encrypted; decrypt it first (openssl pkey -in FILE -out PLAIN)`);
  }
  if (label !== 'PRIVATE KEY' && label !== 'PUBLIC KEY') {
    throw new KeyError(
      'KEY_INVALID',
      `${what} is a "${label}" PEM; expected "PRIVATE KEY" (PKCS#8) or "PUBLIC KEY" (SPKI)`,
    );
  }
  return { label, der: Buffer.from(blocks[0]![2]!.replace(/\s+/g, ''), 'base64') };
}

function jwkBytes(key: KeyObject, field: 'x' | 'd', what: string): Uint8Array {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new KeyError(
      'KEY_INVALID',
      `${what} is a ${key.asymmetricKeyType ?? 'unknown'} key; only Ed25519 is accepted`,
    );
  }
  const jwk = key.export({ format: 'jwk' });
  const value = jwk[field];
  if (typeof value !== 'string')
    throw new KeyError('KEY_INVALID', `${what} has no ${field === 'd' ? 'private' : 'public'} part`);
  return new Uint8Array(Buffer.from(value, 'base64url'));
}

function requireStrong(publicKey: Uint8Array, what: string): Uint8Array {
  const check = checkPublicKey(publicKey);
  if (check === 'bad-length')
    throw new KeyError('KEY_INVALID', `${what}: the public key is not ${PUBLIC_KEY_LENGTH} bytes`);
  if (check !== 'valid') {
    throw new KeyError(
      'KEY_WEAK',
      `${what}: the public key is ` +
        `${check === 'key-small-order' ? 'a small-order point' : 'not a canonical point encoding'}`,
    );
  }
  return publicKey;
}

/** Parses a PKCS#8 Ed25519 private key PEM (including OpenSSL's) into a key pair. */
export function parsePrivateKeyPem(pem: string | Uint8Array, what = 'private key'): Ed25519KeyPair {
  const block = readPemBlock(pem, what);
  if (block.label !== 'PRIVATE KEY') {
    throw new KeyError(
      'KEY_INVALID',
      `${what} is a public key; a private key (PKCS#8 "PRIVATE KEY") is needed to sign`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.der, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new KeyError('KEY_INVALID', `${what} is not a readable PKCS#8 key: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const seed = jwkBytes(key, 'd', what);
  const pair = keyPairFromSeed(seed);
  // PKCS#8 v2 may carry a public key too; it must be the one the seed gives.
  if (!equalBytes(pair.publicKey, jwkBytes(key, 'x', what))) {
    throw new KeyError('KEY_INVALID', `${what}: the embedded public key does not match the private key`);
  }
  requireStrong(pair.publicKey, what);
  return pair;
}

/**
 * Parses an SPKI Ed25519 public key PEM. A PKCS#8 private key PEM is accepted too (its public half is used),
 * because a public key is all that is needed wherever nothing is signed. Weak keys are refused (KEY_WEAK).
 */
export function parsePublicKeyPem(pem: string | Uint8Array, what = 'public key'): Uint8Array {
  const block = readPemBlock(pem, what);
  if (block.label === 'PRIVATE KEY') return parsePrivateKeyPem(pem, what).publicKey;
  // Read the raw point from the fixed RFC 8410 layout so that even keys OpenSSL would refuse are diagnosed.
  if (
    block.der.length === SPKI_PREFIX.length + PUBLIC_KEY_LENGTH &&
    block.der.subarray(0, SPKI_PREFIX.length).equals(SPKI_PREFIX)
  ) {
    return requireStrong(new Uint8Array(block.der.subarray(SPKI_PREFIX.length)), what);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: block.der, format: 'der', type: 'spki' });
  } catch (err) {
    throw new KeyError('KEY_INVALID', `${what} is not a readable SPKI key: ${(err as Error).message}`, { cause: err });
  }
  return requireStrong(jwkBytes(key, 'x', what), what);
}

/** Parses either kind of PEM: the public key always, the secret key when the PEM is a private key. */
export function parseKeyPem(pem: string | Uint8Array, what = 'key'): { publicKey: Uint8Array; secretKey?: Uint8Array } {
  const block = readPemBlock(pem, what);
  if (block.label === 'PRIVATE KEY') return parsePrivateKeyPem(pem, what);
  return { publicKey: parsePublicKeyPem(pem, what) };
}
