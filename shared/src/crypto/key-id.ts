// Short, stable key identifiers: the first 8 bytes of SHA-256 over the raw 32-byte public key.
import { createHash } from 'node:crypto';

export const KEY_ID_LENGTH = 8;

/** The key id as raw bytes (used as the COSE `kid` header parameter). */
export function keyIdBytes(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(publicKey).digest().subarray(0, KEY_ID_LENGTH));
}

/** The key id as 16 lowercase hex characters, as printed by the tools and logged by the agent. */
export function keyId(publicKey: Uint8Array): string {
  return Buffer.from(keyIdBytes(publicKey)).toString('hex');
}
