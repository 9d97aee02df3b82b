// Random nonces cut from a pool that the CSPRNG fills 4 KiB at a time. Sealing takes a 24-byte nonce per message,
// and one crypto.randomBytes call costs about as much as the box itself (~7 µs, most of it the call); one call per
// ~170 nonces makes it negligible. Every byte of a pool is handed out once, then the pool is replaced, never reused.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let offset = 0;

/** `length` fresh random bytes (a copy: the caller may keep or change it). */
export function randomNonce(length: number): Uint8Array {
  if (length > POOL_BYTES) return randomFillSync(new Uint8Array(length));
  if (offset + length > pool.length) {
    pool = randomFillSync(new Uint8Array(POOL_BYTES));
    offset = 0;
  }
  const nonce = pool.slice(offset, offset + length);
  offset += length;
  return nonce;
}
