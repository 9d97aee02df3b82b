// What a command needs from the outside world, injected so tests can run commands in-process.
import { stat } from 'node:fs/promises';
import { UsageError } from '../../../shared/src/cli/index.js';
import { EdgewardError } from '../../../shared/src/errors.js';
import { describeIoError, FileError, readRegularFile } from '../../../shared/src/files.js';
import { BundleError } from '../errors.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Injected clock in ms (tests); the real clock otherwise. */
  now(): number;
}

export const processIo: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  now: () => Date.now(),
};

/** A subcommand: parses its own argv and returns the exit code. */
export type Command = (argv: string[], io: Io) => Promise<number>;

/**
 * A file named on the command line that cannot be read is FW_IO (exit 1, docs/errors.md), like every other file
 * the tools cannot read or write: the command line was well-formed, the file is what is wrong. `flag` says which
 * option named it.
 */
export function inputError(err: unknown, flag: string): EdgewardError {
  if (err instanceof EdgewardError && !(err instanceof FileError)) return err;
  const path = err instanceof FileError ? err.path : ((err as NodeJS.ErrnoException)?.path ?? '');
  const message = err instanceof FileError ? err.message : `cannot read ${path}: ${describeIoError(err)}`;
  return new BundleError('FW_IO', `${flag}: ${message}`, { cause: err, details: { path } });
}

/**
 * Checks, before any work, that a file to be streamed (payload, bundle) is a regular file. stat() never blocks, so
 * a FIFO is refused at once; the stream opens it non-blocking again (byte-source.ts).
 */
export async function requireFile(path: string, flag: string): Promise<void> {
  const info = await stat(path).catch((err: unknown) => {
    throw inputError(err, flag);
  });
  if (info.isFile()) return;
  const kind = info.isDirectory()
    ? 'a folder'
    : info.isFIFO()
      ? 'a FIFO'
      : info.isSocket()
        ? 'a socket'
        : info.isCharacterDevice() || info.isBlockDevice()
          ? 'a device'
          : 'not a regular file';
  throw inputError(new FileError(path, 'not-regular', `cannot read ${path}: it is ${kind}`), flag);
}

/**
 * Reads a small file named by `flag` at once (refusing a FIFO or folder without blocking); FW_IO when it cannot
 * be read, `tooLarge` when it is over `maxBytes`.
 */
export function readInputFile(path: string, flag: string, maxBytes: number, tooLarge: () => EdgewardError): Buffer {
  try {
    return readRegularFile(path, { maxBytes });
  } catch (err) {
    if (err instanceof FileError && err.reason === 'too-large') throw tooLarge();
    throw inputError(err, flag);
  }
}

/** 100 years: longer than any manifest or trust document should live, and still a date Date can print. */
export const MAX_LIFETIME_DAYS = 36_500;

/** Lifetimes are given as durations (90d, 12h); manifests and trust documents store whole seconds. */
export function lifetimeSeconds(ms: number, flag: string): number {
  const s = Math.floor(ms / 1000);
  if (s < 1) throw new UsageError(`${flag} must be at least 1s`);
  if (s > MAX_LIFETIME_DAYS * 86_400) throw new UsageError(`${flag} must be at most ${MAX_LIFETIME_DAYS}d`);
  return s;
}

/** Bundles above this size get a progress bar on a terminal. */
export const PROGRESS_MIN_BYTES = 16 * 1024 * 1024;

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
