// Small files (private keys, secrets) sealed under the storage key: secretbox (XSalsa20-Poly1305) with a
// versioned header, so another key source (an HSM-wrapped key) can plug in later by a new version byte.
import nacl from 'tweetnacl';
import { readRegularFile, writeFileSafe } from '../files.js';
import { AtRestError } from './errors.js';
import type { StorageKey } from './storage-key.js';

/** "EWS" + format version 1: secretbox under the 32-byte storage key, 24-byte random nonce. */
const MAGIC = Buffer.from('EWS', 'ascii');
const VERSION = 1;
const HEADER = MAGIC.length + 1 + nacl.secretbox.nonceLength;

export function isSealed(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && Buffer.from(bytes.subarray(0, MAGIC.length)).equals(MAGIC);
}

export function seal(key: StorageKey, plain: Uint8Array): Buffer {
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const box = nacl.secretbox(plain, nonce, key.bytes);
  return Buffer.concat([MAGIC, Buffer.of(VERSION), nonce, box]);
}

/** Opens a sealed file's bytes; `what` names it in errors (a path). */
export function unseal(key: StorageKey, bytes: Uint8Array, what: string): Buffer {
  if (!isSealed(bytes) || bytes.length < HEADER + nacl.secretbox.overheadLength) {
    throw new AtRestError('AT_REST_SEALED_FILE', `${what} is not a sealed file (or is truncated); restore it`);
  }
  if (bytes[MAGIC.length] !== VERSION) {
    throw new AtRestError(
      'AT_REST_SEALED_FILE',
      `${what} is sealed with format version ${bytes[MAGIC.length]}, which this build does not know; upgrade edgeward`,
    );
  }
  const nonce = bytes.subarray(MAGIC.length + 1, HEADER);
  const plain = nacl.secretbox.open(bytes.subarray(HEADER), nonce, key.bytes);
  if (!plain) {
    throw new AtRestError(
      'AT_REST_KEY_WRONG',
      `${what} does not open with the storage key ${key.source}: a wrong key, or the file was altered`,
    );
  }
  return Buffer.from(plain);
}

/** Writes a secret sealed (mode 0600, atomic). */
export function writeSealedSecret(key: StorageKey, path: string, content: string, overwrite = false): void {
  writeFileSafe(path, seal(key, Buffer.from(content, 'utf8')), { mode: 0o600, overwrite });
}

/** Reads a sealed secret as text; a file that is not sealed is refused, never taken as plain text. */
export function readSealedText(key: StorageKey, path: string, maxBytes = 1024 * 1024): string {
  return unseal(key, readRegularFile(path, { maxBytes }), path).toString('utf8');
}
