// The bundle frame: 8-byte magic, 4-byte header length, header (a signature set over the manifest), payload.
import { BundleError } from '../errors.js';

/** "EWFW" then CR LF SUB LF, so that text-mode transfers and `type` on Windows corrupt it visibly (as PNG does). */
export const BUNDLE_MAGIC = Uint8Array.of(0x45, 0x57, 0x46, 0x57, 0x0d, 0x0a, 0x1a, 0x0a);
/** Magic plus the big-endian uint32 header length. */
export const FRAME_LENGTH = 12;
/** Largest accepted header: 16 signatures over a manifest of at most 16 KiB, with room to spare. */
export const MAX_HEADER_BYTES = 512 * 1024;
/** Largest accepted manifest (the COSE payload). */
export const MAX_MANIFEST_BYTES = 16 * 1024;
/** COSE content type of the manifest (RFC 9052 §3.1 label 3); it separates manifests from trust documents. */
export const MANIFEST_CONTENT_TYPE = 'application/vnd.edgeward.firmware-manifest+cbor';

export function encodeFrame(headerLength: number): Uint8Array {
  if (!Number.isSafeInteger(headerLength) || headerLength < 1 || headerLength > MAX_HEADER_BYTES) {
    throw new RangeError(`header length ${headerLength} is outside 1..${MAX_HEADER_BYTES}`);
  }
  const frame = new Uint8Array(FRAME_LENGTH);
  frame.set(BUNDLE_MAGIC, 0);
  new DataView(frame.buffer).setUint32(8, headerLength);
  return frame;
}

/** Reads the header length from the 12-byte frame; throws FW_BAD_FORMAT for a wrong magic or length. */
export function parseFrame(frame: Uint8Array): number {
  if (frame.length !== FRAME_LENGTH) throw new RangeError('frame must be 12 bytes');
  if (!Buffer.from(frame.subarray(0, 8)).equals(BUNDLE_MAGIC)) {
    throw new BundleError(
      'FW_BAD_FORMAT',
      'not an edgeward firmware bundle (bad magic; expected "EWFW\\r\\n\\x1a\\n")',
    );
  }
  const length = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(8);
  if (length < 1 || length > MAX_HEADER_BYTES) {
    throw new BundleError('FW_BAD_FORMAT', `declared header length ${length} is outside 1..${MAX_HEADER_BYTES}`, {
      details: { length },
    });
  }
  return length;
}
