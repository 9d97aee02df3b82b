// Output files of the firmware tools (keys, trust documents, bundles): refused before any work when the path is a
// folder or on a kernel file system such as /proc, and written atomically: a temporary file beside the target is
// renamed or linked into place, and removed on every failure, so no half-written or stray file is ever left.
import { randomBytes } from 'node:crypto';
import { close as closeFd, fchmod, fsync, openSync, rmSync, write as writeFd } from 'node:fs';
import { link, lstat, rename, stat, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname } from 'node:path';
import { EdgewardError } from '../../shared/src/errors.js';
import { assertOrdinaryFolder, describeIoError, isIoError } from '../../shared/src/files.js';
import { BundleError } from './errors.js';

/** FW_IO naming the output path and the reason (an error that already has a firmware code passes unchanged). */
export function writeError(err: unknown, path: string): BundleError {
  if (err instanceof BundleError) return err;
  if (err instanceof EdgewardError) return new BundleError('FW_IO', err.message, { cause: err, details: { path } });
  return new BundleError('FW_IO', `cannot write ${path}: ${describeIoError(err)}`, { cause: err, details: { path } });
}

/** FW_IO at once when `path` cannot become an output file: it is a folder, or it is on /proc, /sys or the like. */
export async function checkOutputPath(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    throw new BundleError('FW_IO', `cannot write ${path}: it is a folder; give the path of a file`, {
      details: { path },
    });
  }
  try {
    assertOrdinaryFolder(dirname(path));
  } catch (err) {
    throw writeError(err, path);
  }
}

/** Replace an existing file, or keep it (even one that appeared meanwhile) and fail with `exists(path)`. */
export type OutputOptions = { readonly mode?: number } & (
  | { readonly replace: true }
  | { readonly replace: false; readonly exists: (path: string) => Error }
);

/** A file being written: bytes go to a temporary file; commit() moves it into place, discard() removes it. */
export interface OutputFile {
  /** Writes all of `bytes`, or fails (a short write on a full disk is followed by the write that says ENOSPC). */
  write(bytes: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** Temporary files being written now: what removePendingOutputs() removes when the process is interrupted. */
const pending = new Set<string>();

/**
 * Removes every temporary output file still being written (synchronously: it runs in a signal handler, just before
 * the process dies of the signal), so that Ctrl-C during `fw sign` leaves no partial bundle either.
 */
export function removePendingOutputs(): void {
  for (const temporary of pending) rmSync(temporary, { force: true });
  pending.clear();
}

/** Anything at `path`, a dangling symlink included (link() would refuse it too). */
export const isPresent = (path: string): Promise<boolean> =>
  lstat(path).then(
    () => true,
    () => false,
  );

/** File systems without hard links (vfat on a USB stick) refuse link(); there the target is checked, then renamed. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

async function moveIntoPlace(temporary: string, path: string, opts: OutputOptions): Promise<void> {
  if (opts.replace) return rename(temporary, path);
  try {
    await link(temporary, path); // fails with EEXIST on any existing file or symlink, however recent
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw opts.exists(path);
    if (!NO_LINKS.has(code)) throw err;
    if (await isPresent(path)) throw opts.exists(path);
    return rename(temporary, path);
  }
  await unlink(temporary).catch(() => undefined); // the output is in place; a stray link is only untidy
}

// The temporary file is held by its descriptor (see createOutputFile); these are fs's calls on one, as promises.
const closeAsync = promisify(closeFd);
const fsyncAsync = promisify(fsync);
const fchmodAsync = promisify(fchmod);
const writeAsync = promisify(writeFd);

/** Opens a temporary file beside `path` (checked with checkOutputPath first); FW_IO when it cannot be created. */
export async function createOutputFile(path: string, opts: OutputOptions): Promise<OutputFile> {
  await checkOutputPath(path);
  if (!opts.replace && (await isPresent(path))) throw opts.exists(path);
  const temporary = `${path}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  // Created synchronously and registered in the same tick: the signal handler, which runs between ticks, never finds
  // the file on disk but not in `pending` (as it could while an asynchronous open() completed on the thread pool).
  let fd: number;
  try {
    fd = openSync(temporary, 'wx', opts.mode ?? 0o644);
  } catch (err) {
    throw writeError(err, path);
  }
  pending.add(temporary);
  let state: 'open' | 'closed' | 'done' = 'open';
  const done = () => {
    state = 'done';
    pending.delete(temporary);
  };
  const close = async (): Promise<void> => {
    if (state !== 'open') return;
    state = 'closed';
    await closeAsync(fd);
  };
  const discard = async (): Promise<void> => {
    if (state === 'done') return;
    await close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    done();
  };
  const commit = async (): Promise<void> => {
    try {
      await fsyncAsync(fd);
      // The mode given to open() is narrowed by the umask; a private key must end up exactly 0600.
      await fchmodAsync(fd, opts.mode ?? 0o644);
      await close();
      await moveIntoPlace(temporary, path, opts);
      done();
    } catch (err) {
      await discard();
      throw isIoError(err) ? writeError(err, path) : err;
    }
  };
  const write = async (bytes: Uint8Array): Promise<void> => {
    for (let done = 0; done < bytes.length; ) {
      done += (await writeAsync(fd, bytes, done, bytes.length - done, null)).bytesWritten;
    }
  };
  return { write, commit, discard };
}

/** Writes `bytes` to `path` atomically: the whole file or nothing, and never a temporary file left behind. */
export async function writeOutputFile(path: string, bytes: Uint8Array | string, opts: OutputOptions): Promise<void> {
  const out = await createOutputFile(path, opts);
  try {
    await out.write(typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
  } catch (err) {
    await out.discard();
    throw writeError(err, path);
  }
  await out.commit();
}
