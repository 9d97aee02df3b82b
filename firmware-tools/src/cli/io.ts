// What a command needs from the outside world, injected so tests can run commands in-process.
import { stat } from 'node:fs/promises';
import { UsageError } from '../../../shared/src/cli/index.js';

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

/** A file named on the command line that cannot be read is a usage error (exit 2), not a verdict. */
export async function requireFile(path: string, flag: string): Promise<void> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`${flag} ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  if (!info.isFile()) throw new UsageError(`${flag} ${path}: not a regular file`);
}

/** Lifetimes are given as durations (90d, 12h); manifests and trust documents store whole seconds. */
export function lifetimeSeconds(ms: number, flag: string): number {
  const s = Math.floor(ms / 1000);
  if (s < 1) throw new UsageError(`${flag} must be at least 1s`);
  return s;
}

/** Bundles above this size get a progress bar on a terminal. */
export const PROGRESS_MIN_BYTES = 16 * 1024 * 1024;

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
