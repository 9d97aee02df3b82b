// End-to-end sealing of device messages: tweetnacl's box (X25519 + XSalsa20-Poly1305) between one device key and
// the fleet backend's key, in a small versioned CBOR envelope. Whoever relays the bytes (an MQTT broker, a bridge)
// sees the two key ids, a nonce and ciphertext; it can neither read nor forge nor move a message to another topic.
//
// Envelope (CBOR array, docs/protocol.md "Sealed envelope"):
//   [1, senderKid: bstr(8), recipientKid: bstr(8), nonce: bstr(24), box: bstr]
// The boxed plaintext is  len(topic): u8 ‖ topic (UTF-8) ‖ message. The MQTT topic is bound inside the box because
// box has no associated data: a sealed message replayed on another device's or another channel's topic fails.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { decode, encode } from '../cbor.js';
import { defineCodes, EdgewardError, ProtocolError } from '../errors.js';
import { keyIdBytes } from './key-id.js';
import { lowlevel, SIGMA } from './nacl-lowlevel.js';
import { randomNonce } from './nonce-pool.js';
import { secretboxOpen } from './secretbox-open.js';

export const SEAL_VERSION = 1;
/** Names of a device's sealing files beside its device.key and ca.crt (enrolment and `fleet device add`). */
export const SEAL_KEY_FILE = 'seal.key';
export const BACKEND_KEY_FILE = 'backend-seal.pub';
export const SEAL_KEY_LENGTH = 32;
export const SEAL_NONCE_LENGTH = 24;
export const SEAL_KID_LENGTH = 8;
/** The topic bound inside the box is at most this long (one length byte). */
const MAX_TOPIC_BYTES = 255;

export const sealCodes = defineCodes({
  SEAL_REQUIRED: 'A device message arrived unsealed, but the fleet requires sealed messages (sealing: "required").',
  SEAL_BAD_ENVELOPE: 'The payload is not a sealed envelope: not a CBOR array of version, key ids, nonce and box.',
  SEAL_VERSION: 'The sealed envelope declares a version this build does not open.',
  SEAL_UNKNOWN_KEY:
    "The envelope names a key id that is not registered for this device (or is not this receiver's own key).",
  SEAL_AUTH_FAILED:
    'The sealed message does not authenticate: altered, sealed with another key, or moved to another topic.',
  SEAL_KEY_INVALID: 'A sealing key file is not an X25519 key in PKCS#8 (private) or SPKI (public) PEM.',
});
export type SealCode = keyof typeof sealCodes;

export class SealError extends EdgewardError {
  declare readonly code: SealCode;
  constructor(code: SealCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

export interface SealKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
  /** First 8 bytes of SHA-256 over the public key. */
  readonly kid: Uint8Array;
}

export interface Envelope {
  readonly version: number;
  readonly senderKid: Uint8Array;
  readonly recipientKid: Uint8Array;
  readonly nonce: Uint8Array;
  readonly box: Uint8Array;
}

/** The key id of an X25519 public key, as bytes (its hex form is keyId()). */
export const sealKeyId = (publicKey: Uint8Array): Uint8Array => keyIdBytes(publicKey);

export function sealKeyPairFromSecret(secretKey: Uint8Array): SealKeyPair {
  if (secretKey.length !== SEAL_KEY_LENGTH) throw new SealError('SEAL_KEY_INVALID', 'an X25519 key has 32 bytes');
  const pair = nacl.box.keyPair.fromSecretKey(new Uint8Array(secretKey));
  return { publicKey: pair.publicKey, secretKey: pair.secretKey, kid: sealKeyId(pair.publicKey) };
}

export function generateSealKeyPair(): SealKeyPair {
  return sealKeyPairFromSecret(randomBytes(SEAL_KEY_LENGTH));
}

/** PKCS#8 PEM of an X25519 private key (what `openssl pkey` reads). */
export function sealSecretKeyToPem(pair: SealKeyPair): string {
  const jwk = { kty: 'OKP', crv: 'X25519', d: b64u(pair.secretKey), x: b64u(pair.publicKey) };
  return createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** SPKI PEM of an X25519 public key. */
export function sealPublicKeyToPem(publicKey: Uint8Array): string {
  const jwk = { kty: 'OKP', crv: 'X25519', x: b64u(publicKey) };
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
}

export function parseSealSecretKeyPem(pem: string | Buffer, source = 'the key'): SealKeyPair {
  try {
    const key = createPrivateKey(pem);
    const jwk = key.export({ format: 'jwk' });
    if (key.asymmetricKeyType !== 'x25519' || typeof jwk.d !== 'string' || typeof jwk.x !== 'string')
      throw new Error('not an X25519 key');
    // OpenSSL derived the public half (x) from the secret as it read the key: no second X25519 in JavaScript.
    const secretKey = new Uint8Array(Buffer.from(jwk.d, 'base64url'));
    const publicKey = new Uint8Array(Buffer.from(jwk.x, 'base64url'));
    if (secretKey.length !== SEAL_KEY_LENGTH || publicKey.length !== SEAL_KEY_LENGTH)
      throw new Error('not an X25519 key');
    return { publicKey, secretKey, kid: sealKeyId(publicKey) };
  } catch (err) {
    if (err instanceof SealError) throw err;
    throw new SealError('SEAL_KEY_INVALID', `${source} is not an X25519 private key in PKCS#8 PEM`, { cause: err });
  }
}

export function parseSealPublicKeyPem(pem: string | Buffer, source = 'the key'): Uint8Array {
  // node:crypto derives a public key from a private one without a word: a secret sent where the public half
  // belongs must be refused, not quietly accepted (and kept in a request log).
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(String(pem)))
    throw new SealError('SEAL_KEY_INVALID', `${source} is a private key: give only the public key (SPKI PEM)`);
  try {
    const key = createPublicKey(pem);
    const jwk = key.export({ format: 'jwk' });
    if (key.asymmetricKeyType !== 'x25519' || typeof jwk.x !== 'string') throw new Error('not an X25519 key');
    const raw = new Uint8Array(Buffer.from(jwk.x, 'base64url'));
    checkSealPublicKey(raw, source);
    return raw;
  } catch (err) {
    if (err instanceof SealError) throw err;
    throw new SealError('SEAL_KEY_INVALID', `${source} is not an X25519 public key in SPKI PEM`, { cause: err });
  }
}

/** Refuses a public key of the wrong length, or one whose shared secret with anyone is all zeros (small order). */
export function checkSealPublicKey(publicKey: Uint8Array, source = 'the key'): void {
  if (publicKey.length !== SEAL_KEY_LENGTH)
    throw new SealError('SEAL_KEY_INVALID', `${source} has ${publicKey.length} bytes; an X25519 key has 32`);
  // A small-order point gives the same shared key whatever the secret: anyone could then seal or open.
  const probe = nacl.scalarMult(nacl.randomBytes(32), publicKey);
  if (probe.every((b) => b === 0)) throw new SealError('SEAL_KEY_INVALID', `${source} is a small-order point`);
}

/** The precomputed box key between one of our key pairs and one peer public key (one X25519 per pair of keys). */
export interface SealChannel {
  readonly ownKid: Uint8Array;
  readonly peerKid: Uint8Array;
  readonly shared: Uint8Array;
}

export function sealChannel(own: SealKeyPair, peerPublicKey: Uint8Array): SealChannel {
  if (peerPublicKey.length !== SEAL_KEY_LENGTH)
    throw new SealError('SEAL_KEY_INVALID', `the peer key has ${peerPublicKey.length} bytes; an X25519 key has 32`);
  // One X25519 serves both the small-order check and the box key. nacl.box.before is HSalsa20 over this shared
  // secret (NaCl crypto_box_beforenm), and a small-order peer key gives the all-zero secret with any clamped
  // scalar, ours as well as checkSealPublicKey's random probe (libsodium refuses the same way). A new device key
  // costs the ingest thread one X25519 instead of two (~1-2 ms each in tweetnacl: after a restart, every device).
  const secret = nacl.scalarMult(own.secretKey, peerPublicKey);
  if (secret.every((b) => b === 0)) throw new SealError('SEAL_KEY_INVALID', 'the peer key is a small-order point');
  const shared = new Uint8Array(32);
  lowlevel.crypto_core_hsalsa20(shared, new Uint8Array(16), secret, SIGMA);
  secret.fill(0);
  return { ownKid: own.kid, peerKid: sealKeyId(peerPublicKey), shared };
}

function topicBytes(topic: string): Buffer {
  const t = Buffer.from(topic, 'utf8');
  if (t.length > MAX_TOPIC_BYTES) throw new SealError('SEAL_BAD_ENVELOPE', 'topic longer than 255 bytes');
  return t;
}

/** Seals `message` for the peer of `channel`, bound to `topic`. */
export function seal(channel: SealChannel, topic: string, message: Uint8Array): Buffer {
  const t = topicBytes(topic);
  const plain = new Uint8Array(1 + t.length + message.length);
  plain[0] = t.length;
  plain.set(t, 1);
  plain.set(message, 1 + t.length);
  const nonce = randomNonce(SEAL_NONCE_LENGTH);
  const box = nacl.box.after(plain, nonce, channel.shared);
  return encode([SEAL_VERSION, channel.ownKid, channel.peerKid, nonce, box]);
}

/** True when the payload looks like an envelope (a CBOR array); device messages themselves are CBOR maps. */
export function isSealed(payload: Uint8Array): boolean {
  return payload.length > 0 && payload[0]! >> 5 === 4;
}

const ENVELOPE_LIMITS = { maxBytes: 1024 * 1024 + 1024, maxDepth: 1, maxItems: 6 } as const;

function bytesOf(v: unknown, length: number | undefined): v is Uint8Array {
  return v instanceof Uint8Array && (length === undefined || v.length === length);
}

/** Decodes an envelope's frame (nothing is opened): SEAL_BAD_ENVELOPE or SEAL_VERSION when it is not one. */
export function parseEnvelope(payload: Uint8Array, maxBytes = ENVELOPE_LIMITS.maxBytes): Envelope {
  if (!isSealed(payload)) throw new SealError('SEAL_BAD_ENVELOPE', 'the payload is not a sealed envelope');
  let items: unknown;
  try {
    items = decode(payload, { ...ENVELOPE_LIMITS, maxBytes });
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    throw new SealError('SEAL_BAD_ENVELOPE', `the sealed envelope is not valid CBOR: ${err.message}`, { cause: err });
  }
  if (!Array.isArray(items) || items.length < 1)
    throw new SealError('SEAL_BAD_ENVELOPE', 'the sealed envelope is not a CBOR array');
  if (items[0] !== SEAL_VERSION) {
    throw new SealError('SEAL_VERSION', `sealed envelope version ${String(items[0]).slice(0, 20)}; this build opens 1`);
  }
  const [, s, r, n, c] = items;
  if (
    items.length !== 5 ||
    !bytesOf(s, SEAL_KID_LENGTH) ||
    !bytesOf(r, SEAL_KID_LENGTH) ||
    !bytesOf(n, SEAL_NONCE_LENGTH) ||
    !bytesOf(c, undefined) ||
    c.length < nacl.box.overheadLength + 1
  ) {
    throw new SealError('SEAL_BAD_ENVELOPE', 'the sealed envelope needs [1, kid(8), kid(8), nonce(24), box]');
  }
  return { version: SEAL_VERSION, senderKid: s, recipientKid: r, nonce: n, box: c };
}

/**
 * Opens an envelope with the channel its key ids name, and checks it was sealed for `topic`. The caller picks
 * the channel from envelope.senderKid (SEAL_UNKNOWN_KEY when none); a mismatch of ids or topic is SEAL_AUTH_FAILED.
 */
export function openEnvelope(channel: SealChannel, envelope: Envelope, topic: string): Uint8Array {
  if (!equal(envelope.senderKid, channel.peerKid))
    throw new SealError('SEAL_UNKNOWN_KEY', 'the envelope was sealed by a key this receiver does not know');
  if (!equal(envelope.recipientKid, channel.ownKid))
    throw new SealError('SEAL_UNKNOWN_KEY', 'the envelope was sealed for another recipient key');
  const plain = secretboxOpen(envelope.box, envelope.nonce, channel.shared);
  if (!plain) throw new SealError('SEAL_AUTH_FAILED', 'the sealed message does not authenticate');
  const t = topicBytes(topic);
  if (plain[0] !== t.length || !equal(plain.subarray(1, 1 + t.length), t))
    throw new SealError('SEAL_AUTH_FAILED', 'the sealed message was sealed for another topic');
  return plain.subarray(1 + t.length);
}

export function hexKid(kid: Uint8Array): string {
  return Buffer.from(kid).toString('hex');
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}
