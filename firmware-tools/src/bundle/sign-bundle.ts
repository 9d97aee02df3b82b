// Making bundles: hash the payload as a stream, sign the manifest with every release key, then write frame,
// header and payload to a temporary file that replaces the output only once the payload hashed the same again.
import { createHash } from 'node:crypto';
import { keyId } from '../../../shared/src/crypto/index.js';
import { BundleError } from '../errors.js';
import { checkOutputPath, createOutputFile, writeError } from '../output-file.js';
import { openByteSource } from './byte-source.js';
import { concatBytes } from './cbor-deterministic.js';
import { encodeFrame, MANIFEST_CONTENT_TYPE } from './format.js';
import { encodeManifest, MANIFEST_FORMAT, type Manifest } from './manifest.js';
import { encodeSignatureSet, type Signer } from './signature-set.js';
import { type Clock, toSeconds } from './time.js';

export const DEFAULT_BUNDLE_LIFETIME_SECONDS = 90 * 86_400;

export interface ReleaseSpec {
  readonly hardware: string;
  readonly version: string;
  readonly sequence: number;
  /** Seconds from now until the manifest expires (default 90 days). */
  readonly lifetimeSeconds?: number;
  readonly minAgentVersion?: string;
  readonly notes?: string;
  readonly now?: Clock;
}

export function buildManifest(spec: ReleaseSpec, size: number, sha256: Uint8Array): Manifest {
  const created = toSeconds(spec.now);
  return {
    format: MANIFEST_FORMAT,
    hardware: spec.hardware,
    version: spec.version,
    sequence: spec.sequence,
    size,
    sha256,
    created,
    expires: created + (spec.lifetimeSeconds ?? DEFAULT_BUNDLE_LIFETIME_SECONDS),
    ...(spec.minAgentVersion !== undefined ? { minAgentVersion: spec.minAgentVersion } : {}),
    ...(spec.notes !== undefined ? { notes: spec.notes } : {}),
  };
}

/** Frame plus header: everything before the first payload byte. */
export function encodeBundleHeader(manifest: Manifest, signers: readonly Signer[]): Uint8Array {
  const header = encodeSignatureSet(encodeManifest(manifest), MANIFEST_CONTENT_TYPE, signers);
  return concatBytes([encodeFrame(header.length), header]);
}

/** A whole bundle in memory (small payloads, tests). */
export function createBundle(spec: ReleaseSpec, payload: Uint8Array, signers: readonly Signer[]): Uint8Array {
  const manifest = buildManifest(spec, payload.length, createHash('sha256').update(payload).digest());
  return concatBytes([encodeBundleHeader(manifest, signers), payload]);
}

export type SignPhase = 'hashing' | 'writing';

/** Size and SHA-256 of a file, read as a stream. */
export async function hashFile(
  path: string,
  onProgress?: (done: number) => void,
): Promise<{ size: number; sha256: Uint8Array }> {
  const source = await openByteSource(path);
  try {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of source.chunks(Number.MAX_SAFE_INTEGER)) {
      hash.update(chunk);
      size += chunk.length;
      onProgress?.(size);
    }
    return { size, sha256: hash.digest() };
  } finally {
    await source.close();
  }
}

export interface SignFileOptions extends ReleaseSpec {
  readonly payloadPath: string;
  readonly outPath: string;
  readonly signers: readonly Signer[];
  readonly onProgress?: (phase: SignPhase, done: number, total: number) => void;
}

export interface SignedBundle {
  readonly manifest: Manifest;
  readonly keyIds: readonly string[];
  readonly bundleSize: number;
}

/**
 * Signs a payload file into a bundle at `outPath`. An output path that cannot work (a folder, /proc) is refused
 * before the payload is hashed; the bundle is written to a temporary file that replaces `outPath` only when it is
 * complete, and that is removed on every failure, so no partial bundle is ever left behind.
 */
export async function signBundleFile(opts: SignFileOptions): Promise<SignedBundle> {
  await checkOutputPath(opts.outPath);
  const first = await hashFile(opts.payloadPath, (done) => opts.onProgress?.('hashing', done, 0));
  const manifest = buildManifest(opts, first.size, first.sha256);
  const header = encodeBundleHeader(manifest, opts.signers);
  const out = await createOutputFile(opts.outPath, { replace: true });
  try {
    const source = await openByteSource(opts.payloadPath);
    try {
      await out.write(header);
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of source.chunks(first.size + 1)) {
        hash.update(chunk);
        size += chunk.length;
        await out.write(chunk);
        opts.onProgress?.('writing', size, first.size);
      }
      if (size !== first.size || !hash.digest().equals(first.sha256)) {
        throw new BundleError(
          'FW_PAYLOAD_CHANGED',
          `${opts.payloadPath} changed while it was being signed; sign it again`,
        );
      }
    } finally {
      await source.close();
    }
    await out.commit();
  } catch (err) {
    await out.discard();
    throw writeError(err, opts.outPath);
  }
  return { manifest, keyIds: opts.signers.map((s) => keyId(s.publicKey)), bundleSize: header.length + first.size };
}
