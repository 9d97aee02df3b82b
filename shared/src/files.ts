// Writing files safely: atomic (temp + rename), private keys 0600, folders 0700, no silent overwrite.
import { chmodSync, existsSync, mkdirSync, openSync, writeSync, closeSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { EdgewardError, defineCodes } from './errors.js';

export const fileCodes = defineCodes({
  FILE_EXISTS: 'An output file already exists; pass --force to overwrite it.',
});

export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * Writes `content` to `path` atomically (temp file + rename) with `mode`. A private key is never
 * observable with wider permissions, and a crash never leaves half a file.
 */
export function writeFileSafe(
  path: string,
  content: string | Uint8Array,
  opts: { mode?: number; overwrite?: boolean } = {},
): void {
  const mode = opts.mode ?? 0o644;
  if (!opts.overwrite && existsSync(path)) {
    throw new EdgewardError('FILE_EXISTS', `${path} already exists; pass --force to overwrite it`);
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export const writeSecret = (path: string, content: string, overwrite = false) =>
  writeFileSafe(path, content, { mode: 0o600, overwrite });
