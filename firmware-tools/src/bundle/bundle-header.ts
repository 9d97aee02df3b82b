// Reads a bundle's frame and header from a byte source: everything a reader needs before the first payload byte.
import { BundleError } from '../errors.js';
import type { ByteSource } from './byte-source.js';
import {
  BUNDLE_MAGIC,
  FRAME_LENGTH,
  MANIFEST_CONTENT_TYPE,
  MAX_HEADER_BYTES,
  MAX_MANIFEST_BYTES,
  parseFrame,
} from './format.js';
import { decodeSignatureSet, type SignatureSet } from './signature-set.js';

export interface BundleHeader {
  /** Bytes of the header after the 12-byte frame; the payload starts at FRAME_LENGTH + headerLength. */
  readonly headerLength: number;
  /** The manifest signatures; `set.payload` is the exact signed manifest bytes. */
  readonly set: SignatureSet;
}

/** Decodes the header (after the frame): a signature set over a manifest of bounded size. */
export function decodeBundleHeader(header: Uint8Array): SignatureSet {
  const set = decodeSignatureSet(header, {
    contentType: MANIFEST_CONTENT_TYPE,
    formatCode: 'FW_BAD_FORMAT',
    maxBytes: MAX_HEADER_BYTES,
    what: 'bundle header',
  });
  if (set.payload.length > MAX_MANIFEST_BYTES) {
    throw new BundleError(
      'FW_BAD_FORMAT',
      `the manifest is ${set.payload.length} bytes; at most ${MAX_MANIFEST_BYTES} are accepted`,
    );
  }
  return set;
}

export async function readBundleHeader(source: ByteSource): Promise<BundleHeader> {
  const frame = await source.readUpTo(FRAME_LENGTH);
  if (frame.length < FRAME_LENGTH) {
    const n = Math.min(frame.length, BUNDLE_MAGIC.length);
    if (!Buffer.from(frame.subarray(0, n)).equals(BUNDLE_MAGIC.subarray(0, n))) {
      throw new BundleError('FW_BAD_FORMAT', 'not an edgeward firmware bundle (bad magic)');
    }
    throw new BundleError(
      'FW_TRUNCATED',
      `the file ends after ${frame.length} bytes, inside the ${FRAME_LENGTH}-byte bundle frame`,
    );
  }
  const headerLength = parseFrame(frame);
  const header = await source.readUpTo(headerLength);
  if (header.length < headerLength) {
    throw new BundleError(
      'FW_TRUNCATED',
      `the file ends ${headerLength - header.length} bytes before the end of the signed manifest`,
      {
        details: { headerLength, got: header.length },
      },
    );
  }
  return { headerLength, set: decodeBundleHeader(header) };
}
