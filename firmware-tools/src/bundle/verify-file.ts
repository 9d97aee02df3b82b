// Verifies a bundle file for command-line tools with the signature checks on a second thread. On a large
// bundle nearly all the work is the payload SHA-256; the trust chain and the manifest signatures (pure-JS
// Ed25519, slow while the code is still cold) run on a worker meanwhile, so they cost no wall time.
//
// The verdict is verifyBundle's: the same checks, and when several fail, the same reason wins (trust, frame,
// signatures, manifest, device, payload). Nothing is believed before the worker has verified it: the unverified
// manifest only says how many bytes to hash, or that a bundle which will be refused anyway need not be hashed.
// The agent installs with verifyBundle, which checks the signatures before it reads a payload byte.
import { parentPort, type Worker } from 'node:worker_threads';
import { EdgewardError } from '../../../shared/src/errors.js';
import { defineWorker } from '../../../shared/src/worker.js';
import { BundleError, type BundleCode } from '../errors.js';
import { decodeBundleHeader, readBundleHeader, type BundleHeader } from './bundle-header.js';
import { openByteSource } from './byte-source.js';
import { FRAME_LENGTH } from './format.js';
import { decodeManifest, type Manifest } from './manifest.js';
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
  /** The declared payload size, once the header is read (not yet verified: for a progress bar). */
  readonly onSize?: (size: number) => void;
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Declared payload size from which the signatures are checked on a worker while the payload is hashed
   * (default CONCURRENT_MIN_BYTES); Infinity checks them first on this thread, as verifyBundle does.
   */
  readonly concurrentFrom?: number;
}

export interface FileVerdict {
  readonly bundle: VerifiedBundle;
  readonly trust: TrustState;
}

/**
 * Payloads from this size on are hashed while a worker checks the signatures. Starting the worker costs ~40 ms
 * of wall time before its verdict, which hashing 64 MiB (~45 ms here) already covers; smaller bundles are
 * checked in order on this thread.
 */
export const CONCURRENT_MIN_BYTES = 64 * 1024 * 1024;

interface WorkerInput {
  readonly documents: readonly Uint8Array[];
  readonly anchor: TrustAnchor | undefined;
  readonly nowMs: number;
  readonly header: Uint8Array;
  /** Int32[0] becomes 1 when the signatures failed, so the hashing loop can stop early. */
  readonly failed: SharedArrayBuffer;
}

type WorkerOutput =
  | { readonly ok: true; readonly trust: TrustState; readonly signers: string[] }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly details?: Record<string, unknown> };

/**
 * The signature worker runs this module: in the bundle this module is part of dist/fw.cjs, which then starts itself
 * as the worker (one file to ship).
 */
const SIGNATURE_WORKER = defineWorker<WorkerInput>('edgeward-fw-signature-worker', new URL(import.meta.url));

/** True inside the signature worker; the `fw` entry point then does not run the command line. */
export const isSignatureWorker = SIGNATURE_WORKER.input !== undefined;

/** Trust chain, then the manifest signatures: exactly what verifyBundle checks before the payload. */
function checkSignatures(
  documents: readonly Uint8Array[],
  anchor: TrustAnchor | undefined,
  now: number,
  header: Uint8Array,
): { trust: TrustState; signers: string[] } {
  const trust = resolveTrustChain(documents, { now, ...(anchor ? { anchor } : {}) });
  requireTrustCurrent(trust, now);
  return { trust, signers: requireReleaseSignatures(decodeBundleHeader(header), trust) };
}

if (SIGNATURE_WORKER.input) {
  const input = SIGNATURE_WORKER.input;
  let out: WorkerOutput;
  try {
    out = { ok: true, ...checkSignatures(input.documents, input.anchor, input.nowMs, input.header) };
  } catch (err) {
    Atomics.store(new Int32Array(input.failed), 0, 1);
    out =
      err instanceof EdgewardError
        ? { ok: false, code: err.code, message: err.message, ...(err.details ? { details: { ...err.details } } : {}) }
        : { ok: false, code: 'FW_INTERNAL', message: (err as Error)?.stack ?? String(err) };
  }
  parentPort!.postMessage(out);
}

function fromWorker(out: Extract<WorkerOutput, { ok: false }>): Error {
  if (out.code === 'FW_INTERNAL') return new Error(`signature check failed: ${out.message}`);
  return new BundleError(out.code as BundleCode, out.message, out.details ? { details: out.details } : {});
}

/** Starts the signature checks on a worker; falls back to this thread where no worker can be started. */
function startSignatureCheck(
  opts: FileVerifyOptions,
  nowMs: number,
  header: Uint8Array,
  failed: SharedArrayBuffer,
  concurrent: boolean,
): { result: Promise<{ trust: TrustState; signers: string[] }>; stop: () => void } {
  const inline = () => {
    try {
      return {
        result: Promise.resolve(checkSignatures(opts.trustDocuments, opts.anchor, nowMs, header)),
        stop: () => undefined,
      };
    } catch (err) {
      return { result: Promise.reject(err as Error), stop: () => undefined };
    }
  };
  if (!concurrent) return inline();
  let worker: Worker;
  try {
    const input: WorkerInput = { documents: opts.trustDocuments, anchor: opts.anchor, nowMs, header, failed };
    worker = SIGNATURE_WORKER.start(input, { stdout: false, stderr: false });
  } catch {
    return inline();
  }
  const result = new Promise<{ trust: TrustState; signers: string[] }>((resolve, reject) => {
    let settled = false;
    worker.once('message', (out: WorkerOutput) => {
      settled = true;
      if (out.ok) resolve({ trust: out.trust, signers: out.signers });
      else reject(fromWorker(out));
    });
    // A worker that dies without a verdict (out of memory, killed) costs the speed-up, never the answer.
    const onThisThread = () => {
      if (settled) return;
      settled = true;
      inline().result.then(resolve, reject);
    };
    worker.once('error', onThisThread);
    worker.once('exit', onThisThread);
  });
  result.catch(() => undefined); // awaited below; never an unhandled rejection while the payload is hashed
  return { result, stop: () => void worker.terminate() };
}

/**
 * Verifies a bundle file against a chain of trust documents. Resolves only when every check passed and the
 * whole payload hashed to the signed digest; otherwise rejects with the BundleError verifyBundle would give.
 */
export async function verifyBundleFile(file: string, opts: FileVerifyOptions): Promise<FileVerdict> {
  const nowMs = opts.now === undefined ? Date.now() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
  const source = await openByteSource(file, { syncReads: true });
  let stop = (): void => undefined;
  try {
    let header: BundleHeader;
    try {
      header = await readBundleHeader(source);
    } catch (err) {
      // a trust error comes first
      resolveTrustChain(opts.trustDocuments, { now: nowMs, ...(opts.anchor ? { anchor: opts.anchor } : {}) });
      throw err;
    }
    // Provisional: these bytes are not verified yet. A failure here is reported only after the signatures.
    let manifest: Manifest | undefined;
    let refused: unknown;
    try {
      manifest = decodeManifest(header.set.payload);
      checkManifestForDevice(manifest, { ...opts, now: nowMs });
    } catch (err) {
      refused = err;
    }
    const concurrent =
      manifest !== undefined && refused === undefined && manifest.size >= (opts.concurrentFrom ?? CONCURRENT_MIN_BYTES);
    const failed = new SharedArrayBuffer(4);
    const check = startSignatureCheck(opts, nowMs, header.bytes, failed, concurrent);
    stop = check.stop;
    if (!concurrent) await check.result;
    if (refused !== undefined || manifest === undefined) throw refused;
    opts.onSize?.(manifest.size);

    const signaturesFailed = new Int32Array(failed);
    const { seen, digest } = await hashPayload(source, manifest.size, {
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      stop: () => Atomics.load(signaturesFailed, 0) === 1, // the verdict is already known
    });
    const { trust, signers } = await check.result;
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
    stop();
    await source.close();
  }
}
