// Reading and writing trust documents for the commands: chains from --trust files, atomic writes.
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { UsageError } from '../../../shared/src/cli/index.js';
import { keyId } from '../../../shared/src/crypto/index.js';
import { isoSeconds } from '../bundle/time.js';
import type { TrustState } from '../bundle/trust-chain.js';
import { MAX_TRUST_BYTES } from '../bundle/trust-document.js';
import { BundleError } from '../errors.js';
import { requireFile } from './io.js';

export async function readTrustFile(path: string, flag = '--trust'): Promise<Uint8Array> {
  await requireFile(path, flag);
  const bytes = await readFile(path);
  if (bytes.length > MAX_TRUST_BYTES)
    throw new BundleError('FW_TRUST_INVALID', `${path} is larger than ${MAX_TRUST_BYTES} bytes`);
  return bytes;
}

/** An --out that exists is refused up front unless forced: every trust version must be kept. */
export async function requireAbsent(path: string, force: boolean): Promise<void> {
  if (force) return;
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (exists)
    throw new UsageError(
      `--out ${path} already exists; keep every trust version (devices walk the chain) or pass --force`,
    );
}

/** Writes a new trust document atomically; without force, link() refuses to replace a file that appeared meanwhile. */
export async function writeTrustFile(path: string, bytes: Uint8Array, force: boolean): Promise<void> {
  const tmp = `${path}.partial-${process.pid}`;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (force) await rename(tmp, path);
    else await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new UsageError(`--out ${path} already exists; pass --force to replace it`);
    throw new BundleError('FW_IO', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
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
