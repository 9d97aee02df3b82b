// Reading and writing trust documents for the commands: chains from --trust files, atomic writes.
import { UsageError } from '../../../shared/src/cli/index.js';
import { keyId } from '../../../shared/src/crypto/index.js';
import { isoSeconds } from '../bundle/time.js';
import type { TrustState } from '../bundle/trust-chain.js';
import { MAX_TRUST_BYTES } from '../bundle/trust-document.js';
import { BundleError } from '../errors.js';
import { checkOutputPath, isPresent, writeOutputFile } from '../output-file.js';
import { readInputFile } from './io.js';

/** Reads a trust document named by `flag` at once: FW_IO when it cannot be read (a FIFO never blocks). */
export async function readTrustFile(path: string, flag = '--trust'): Promise<Uint8Array> {
  const tooLarge = () => new BundleError('FW_TRUST_INVALID', `${path} is larger than ${MAX_TRUST_BYTES} bytes`);
  return readInputFile(path, flag, MAX_TRUST_BYTES, tooLarge);
}

/** An --out that exists is refused up front unless forced: every trust version must be kept. */
export async function requireAbsent(path: string, force: boolean): Promise<void> {
  await checkOutputPath(path);
  if (!force && (await isPresent(path))) throw trustExists(path);
}

const trustExists = (path: string) =>
  new UsageError(`--out ${path} already exists; keep every trust version (devices walk the chain) or pass --force`);

/** Writes a new trust document atomically; without force, a file that appeared meanwhile is still not replaced. */
export function writeTrustFile(path: string, bytes: Uint8Array, force: boolean): Promise<void> {
  return writeOutputFile(path, bytes, { replace: force, exists: trustExists });
}

export function describeTrust(t: TrustState): Record<string, unknown> {
  return {
    version: t.version,
    created: isoSeconds(t.created),
    expires: isoSeconds(t.expires),
    rootKeys: t.rootKeys.map((k) => keyId(k)),
    rootThreshold: t.rootThreshold,
    releaseKeys: [...t.releaseKeys.keys()],
    releaseThreshold: t.releaseThreshold,
  };
}

export function trustSummary(t: TrustState): string {
  const d = describeTrust(t);
  return (
    `  version        ${t.version}\n` +
    `  expires        ${d.expires as string}\n` +
    `  root keys      ${(d.rootKeys as string[]).join(', ')} (threshold ${t.rootThreshold})\n` +
    `  release keys   ${(d.releaseKeys as string[]).join(', ')} (threshold ${t.releaseThreshold})\n`
  );
}
