// Reads a bundle's header for display, without trusting it: the manifest as signed and who claims to sign.
import { readBundleHeader } from './bundle-header.js';
import { openByteSource, type BundleInput } from './byte-source.js';
import { FRAME_LENGTH } from './format.js';
import { decodeManifest, type Manifest } from './manifest.js';
import { checkCoseSign1 } from './cose-sign1.js';
import type { TrustState } from './trust-chain.js';

export interface InspectedSignature {
  readonly keyId: string;
  readonly alg: unknown;
  /** Present when a trust document was given: whether this key is a release key and its signature verifies. */
  readonly check?: string;
}

export interface InspectedBundle {
  readonly manifest: Manifest;
  readonly signatures: readonly InspectedSignature[];
  readonly headerLength: number;
  readonly payloadOffset: number;
}

/** Decodes the header (structure and schema are checked, signatures only against `trust` when given). */
export async function inspectBundle(input: BundleInput, trust?: TrustState): Promise<InspectedBundle> {
  const source = await openByteSource(input);
  try {
    const { headerLength, set } = await readBundleHeader(source);
    const signatures = set.signatures.map((s) => {
      const id = Buffer.from(s.kid ?? new Uint8Array(0)).toString('hex');
      const base = { keyId: id, alg: s.protectedHeader.get(1) };
      if (!trust) return base;
      const key = trust.releaseKeys.get(id);
      return { ...base, check: key ? checkCoseSign1(s, key) : 'unknown-key' };
    });
    return {
      manifest: decodeManifest(set.payload),
      signatures,
      headerLength,
      payloadOffset: FRAME_LENGTH + headerLength,
    };
  } finally {
    await source.close();
  }
}
