// Verifies a bundle while streaming it: frame, header and signatures before the first payload byte, then the
// payload hashed in constant memory, reading at most the declared size plus one byte.
import { createHash } from 'node:crypto';
import { BundleError } from '../errors.js';
import { readBundleHeader } from './bundle-header.js';
import { openByteSource, type BundleInput, type ByteSource } from './byte-source.js';
import { FRAME_LENGTH } from './format.js';
import { decodeManifest, type Manifest } from './manifest.js';
import { requireReleaseSignatures } from './release-signatures.js';
import { compareSemver } from './semver.js';
import { type Clock, isoSeconds, toSeconds } from './time.js';
import { requireTrustCurrent, type TrustState } from './trust-chain.js';

export interface VerifyOptions {
  /** A verified trust document (verifyTrustDocument, updateTrust or resolveTrustChain). */
  readonly trust: TrustState;
  /** This device's hardware id; the manifest must name it. Omit only in operator tools. */
  readonly hardware?: string;
  /** Sequence number of the installed firmware; the bundle's must be above it. */
  readonly installedSequence?: number;
  /** Version of the running agent, checked against the manifest's minAgentVersion. */
  readonly agentVersion?: string;
  /** Injected clock (ms since the epoch or a Date); defaults to the real clock. */
  readonly now?: Clock;
  /** Called once the signed manifest passed every check, before the first payload byte is read. */
  readonly onManifest?: (manifest: Manifest) => void | Promise<void>;
  /**
   * Receives each payload chunk as it is hashed (e.g. to write it to the inactive partition). The bytes are
   * NOT verified until verifyBundle resolves; the chunk is reused after the callback returns.
   */
  readonly onChunk?: (chunk: Uint8Array) => void | Promise<void>;
  readonly onProgress?: (done: number, total: number) => void;
  /** Blocking file reads: faster, but they stall the event loop (command-line tools only). */
  readonly syncReads?: boolean;
}

export interface VerifiedBundle {
  readonly manifest: Manifest;
  /** Key ids of the distinct release keys whose signatures verified. */
  readonly signers: readonly string[];
  /** The exact signed manifest bytes. */
  readonly manifestBytes: Uint8Array;
  /** Offset of the first payload byte in the bundle. */
  readonly payloadOffset: number;
}

/** Checks the manifest against this device; throws the first reason it must not be installed. */
export function checkManifestForDevice(manifest: Manifest, opts: Omit<VerifyOptions, 'trust'>): void {
  if (opts.hardware !== undefined && manifest.hardware !== opts.hardware) {
    throw new BundleError(
      'FW_WRONG_HARDWARE',
      `bundle is for hardware ${JSON.stringify(manifest.hardware)}, this device is ${JSON.stringify(opts.hardware)}`,
      {
        details: { bundle: manifest.hardware, device: opts.hardware },
      },
    );
  }
  const now = toSeconds(opts.now);
  if (now >= manifest.expires) {
    throw new BundleError('FW_EXPIRED', `manifest expired at ${isoSeconds(manifest.expires)}`, {
      details: { expires: manifest.expires, now },
    });
  }
  if (opts.installedSequence !== undefined && manifest.sequence <= opts.installedSequence) {
    throw new BundleError(
      'FW_ROLLBACK',
      `bundle sequence ${manifest.sequence} is not above the installed sequence ${opts.installedSequence}`,
      {
        details: { sequence: manifest.sequence, installed: opts.installedSequence },
      },
    );
  }
  if (
    opts.agentVersion !== undefined &&
    manifest.minAgentVersion !== undefined &&
    compareSemver(opts.agentVersion, manifest.minAgentVersion) < 0
  ) {
    throw new BundleError(
      'FW_AGENT_TOO_OLD',
      `bundle needs agent ${manifest.minAgentVersion} or newer; this agent is ${opts.agentVersion}`,
      {
        details: { required: manifest.minAgentVersion, agent: opts.agentVersion },
      },
    );
  }
}

export interface PayloadHooks {
  readonly onChunk?: VerifyOptions['onChunk'];
  readonly onProgress?: VerifyOptions['onProgress'];
}

/**
 * Hashes the payload as it streams, reading at most `size` + 1 bytes. `seen` is size + 1 when the payload
 * continues past the declared size (that chunk is neither hashed nor passed on), so checkPayload refuses it.
 */
export async function hashPayload(
  source: ByteSource,
  size: number,
  hooks: PayloadHooks = {},
): Promise<{ seen: number; digest: Uint8Array }> {
  const hash = createHash('sha256');
  let seen = 0;
  for await (const chunk of source.chunks(size + 1)) {
    if (seen + chunk.length > size) {
      seen = size + 1;
      break;
    }
    hash.update(chunk);
    seen += chunk.length;
    if (hooks.onChunk) await hooks.onChunk(chunk);
    hooks.onProgress?.(seen, size);
  }
  return { seen, digest: hash.digest() };
}

/** Compares what was hashed (at most size + 1 bytes) with the signed size and digest. */
export function checkPayload(manifest: Manifest, seen: number, digest: Uint8Array): void {
  if (seen > manifest.size) {
    throw new BundleError('FW_PAYLOAD_LONG', `payload continues past the declared ${manifest.size} bytes`, {
      details: { declared: manifest.size },
    });
  }
  if (seen < manifest.size) {
    throw new BundleError('FW_PAYLOAD_SHORT', `payload ends after ${seen} of the declared ${manifest.size} bytes`, {
      details: { declared: manifest.size, got: seen },
    });
  }
  if (!Buffer.from(digest).equals(manifest.sha256)) {
    throw new BundleError(
      'FW_PAYLOAD_DIGEST',
      'payload SHA-256 does not match the signed manifest: the payload was changed',
      {
        details: {
          expected: Buffer.from(manifest.sha256).toString('hex'),
          actual: Buffer.from(digest).toString('hex'),
        },
      },
    );
  }
}

/**
 * Verifies a bundle from a file path or a byte stream. Resolves only when every check passed and the whole
 * payload hashed to the signed digest; otherwise rejects with a BundleError whose code names the reason.
 */
export async function verifyBundle(input: BundleInput, opts: VerifyOptions): Promise<VerifiedBundle> {
  requireTrustCurrent(opts.trust, opts.now);
  const source = await openByteSource(input, { syncReads: opts.syncReads === true });
  try {
    const { headerLength, set } = await readBundleHeader(source);
    // Signatures over the exact manifest bytes first; only then is the manifest decoded and believed.
    const signers = requireReleaseSignatures(set, opts.trust);
    const manifest = decodeManifest(set.payload);
    checkManifestForDevice(manifest, opts);
    await opts.onManifest?.(manifest);

    const { seen, digest } = await hashPayload(source, manifest.size, opts);
    checkPayload(manifest, seen, digest);
    return { manifest, signers, manifestBytes: set.payload, payloadOffset: FRAME_LENGTH + headerLength };
  } finally {
    await source.close();
  }
}
