// Verifies a bundle file for command-line tools, in verifyBundle's order: trust chain, frame, signatures, then the
// manifest and the device checks, then the payload hash (synchronous reads: one reused buffer, no stream). The
// verdict is verifyBundle's: the same checks, and when several fail, the same reason wins. The agent installs with
// verifyBundle, which also checks the signatures before it reads a payload byte.
//
// The signatures were once checked on a worker thread while the payload was hashed (tweetnacl took some 25 ms for
// them cold). With the equation checked by OpenSSL they take about 1 ms: the worker bought nothing more and cost
// 10 MB of RSS (bench/firmware-verify.mjs: 256 MiB 0.286 s with it, 0.273 s without; 1 GiB 0.824 s, 0.819 s).
import { readBundleHeader, type BundleHeader } from './bundle-header.js';
import { openByteSource } from './byte-source.js';
import { FRAME_LENGTH } from './format.js';
import { decodeManifest } from './manifest.js';
import { requireReleaseSignatures } from './release-signatures.js';
import type { Clock } from './time.js';
import { requireTrustCurrent, resolveTrustChain, type TrustAnchor, type TrustState } from './trust-chain.js';
import { checkManifestForDevice, checkPayload, hashPayload, type VerifiedBundle } from './verify-stream.js';

export interface FileVerifyOptions {
  /** Trust documents, oldest first (resolveTrustChain). */
  readonly trustDocuments: readonly Uint8Array[];
  readonly anchor?: TrustAnchor;
  readonly hardware?: string;
  readonly installedSequence?: number;
  readonly agentVersion?: string;
  readonly now?: Clock;
  /** The declared payload size, once the signatures and the manifest are checked (for a progress bar). */
  readonly onSize?: (size: number) => void;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface FileVerdict {
  readonly bundle: VerifiedBundle;
  readonly trust: TrustState;
}

/**
 * Verifies a bundle file against a chain of trust documents. Resolves only when every check passed and the
 * whole payload hashed to the signed digest; otherwise rejects with the BundleError verifyBundle would give.
 */
export async function verifyBundleFile(file: string, opts: FileVerifyOptions): Promise<FileVerdict> {
  const nowMs = opts.now === undefined ? Date.now() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
  const chain = () =>
    resolveTrustChain(opts.trustDocuments, { now: nowMs, ...(opts.anchor ? { anchor: opts.anchor } : {}) });
  const source = await openByteSource(file, { syncReads: true });
  try {
    let header: BundleHeader;
    try {
      header = await readBundleHeader(source);
    } catch (err) {
      chain(); // a trust error comes first
      throw err;
    }
    const trust = chain();
    requireTrustCurrent(trust, nowMs);
    const signers = requireReleaseSignatures(header.set, trust);
    // Only now is the manifest believed.
    const manifest = decodeManifest(header.set.payload);
    checkManifestForDevice(manifest, { ...opts, now: nowMs });
    opts.onSize?.(manifest.size);
    const { seen, digest } = await hashPayload(source, manifest.size, {
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    checkPayload(manifest, seen, digest);
    return {
      bundle: {
        manifest,
        signers,
        manifestBytes: header.set.payload,
        payloadOffset: FRAME_LENGTH + header.headerLength,
      },
      trust,
    };
  } finally {
    await source.close();
  }
}
