// Files from the command line or a config are hostile too: reading refuses what is not a regular file (a FIFO
// would block for ever) and caps the size; writing is atomic (temp + rename, the temp removed on any failure),
// private keys 0600, folders 0700, no silent overwrite, and never on a special file system such as /proc.
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statfsSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EdgewardError, defineCodes } from './errors.js';

export const fileCodes = defineCodes({
  FILE_EXISTS: 'An output file already exists; pass --force to overwrite it.',
  FILE_IO:
    'A file or folder could not be read or written: missing, not a regular file, permissions, a read-only or full ' +
    'disk, or a special file system such as /proc. The message names the path and the reason.',
  INTERNAL: 'An unexpected error, which is a bug: run again with EDGEWARD_DEBUG=1 for the stack trace and report it.',
});

/** A file system failure with the path and a short reason (errno code or what was wrong). */
export class FileError extends EdgewardError {
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string, message: string, options: { cause?: unknown } = {}) {
    super('FILE_IO', message, { ...options, details: { path, reason } });
    this.path = path;
    this.reason = reason;
  }
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'already exists',
  EIO: 'input/output error',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
};

/** "ENOENT (no such file or folder)" for a Node system error, else its message. */
export function describeIoError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && ERRNO_TEXT[code]) return `${code} (${ERRNO_TEXT[code]})`;
  return typeof code === 'string' ? code : ((err as Error)?.message ?? String(err));
}

/** True for an error that a Node file system call raised (it has an errno code such as ENOENT). */
export function isIoError(err: unknown): err is NodeJS.ErrnoException {
  return (
    typeof (err as NodeJS.ErrnoException)?.code === 'string' &&
    typeof (err as NodeJS.ErrnoException).syscall === 'string'
  );
}

/** Wraps a Node file system error as FILE_IO naming `what` and `path`; an EdgewardError passes through. */
export function ioError(err: unknown, what: string, path: string): EdgewardError {
  if (err instanceof EdgewardError) return err;
  const code = (err as NodeJS.ErrnoException)?.code ?? 'error';
  return new FileError(path, code, `cannot ${what} ${path}: ${describeIoError(err)}`, { cause: err });
}

function kindOf(mode: number): string {
  switch (mode & constants.S_IFMT) {
    case constants.S_IFDIR:
      return 'a folder';
    case constants.S_IFIFO:
      return 'a FIFO';
    case constants.S_IFSOCK:
      return 'a socket';
    case constants.S_IFCHR:
      return 'a character device';
    case constants.S_IFBLK:
      return 'a block device';
    default:
      return 'not a regular file';
  }
}

export interface ReadOptions {
  /** Refuse a file larger than this (default 16 MiB). */
  readonly maxBytes?: number;
}

/**
 * Reads a whole regular file. Opened non-blocking, so a FIFO or device is refused at once instead of blocking
 * the process for ever; throws FileError (FILE_IO) naming the path and what is wrong with it.
 */
export function readRegularFile(path: string, opts: ReadOptions = {}): Buffer {
  const maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw ioError(err, 'read', path);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new FileError(path, 'not-regular', `cannot read ${path}: it is ${kindOf(info.mode)}`);
    if (info.size > maxBytes) {
      throw new FileError(
        path,
        'too-large',
        `cannot read ${path}: ${info.size} bytes, more than the ${maxBytes} allowed`,
      );
    }
    const buf = Buffer.alloc(info.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return got === buf.length ? buf : buf.subarray(0, got);
  } catch (err) {
    throw ioError(err, 'read', path);
  } finally {
    closeSync(fd);
  }
}

export const readRegularText = (path: string, opts?: ReadOptions): string =>
  readRegularFile(path, opts).toString('utf8');

/** statfs magic numbers of kernel file systems that hold no user data; mkdir under /proc never returns. */
const SPECIAL_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x74726163, 'tracefs'],
  [0x6e736673, 'nsfs'],
  [0xcafe4a11, 'bpf'],
  [0x42494e4d, 'binfmt_misc'],
  [0x19800202, 'mqueue'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x09041934, 'anon_inode'],
]);

/** Refuses a folder that is, or would be created, on a kernel file system such as /proc or /sys. */
export function assertOrdinaryFolder(dir: string): void {
  let probe = resolve(dir);
  for (;;) {
    let type: number | undefined;
    try {
      type = Number(statfsSync(probe).type);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        const parent = dirname(probe);
        if (parent === probe) return;
        probe = parent;
        continue;
      }
      throw ioError(err, 'inspect', probe);
    }
    const fs = SPECIAL_FS.get(type);
    if (fs) {
      throw new FileError(dir, 'special-fs', `cannot use ${dir}: it is on the ${fs} file system, which holds no files`);
    }
    return;
  }
}

/**
 * mkdir -p. Node's recursive mkdir reports ENOENT when a folder cannot be made for another reason (EROFS on a
 * read-only file system): then the first missing folder is made alone, which fails with the real reason.
 */
function makeFolders(dir: string, mode?: number): void {
  const opts = mode === undefined ? {} : { mode };
  try {
    mkdirSync(dir, { recursive: true, ...opts });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    let first = resolve(dir);
    while (dirname(first) !== first && !existsSync(dirname(first))) first = dirname(first);
    mkdirSync(first, opts);
    mkdirSync(dir, { recursive: true, ...opts });
  }
}

/** Creates `dir` (and its parents) with mode 0700 and sets 0700 on it; FILE_IO on failure. */
export function ensurePrivateDir(dir: string): void {
  assertOrdinaryFolder(dir);
  try {
    makeFolders(dir, 0o700);
    chmodSync(dir, 0o700);
  } catch (err) {
    throw ioError(err, 'create the folder', dir);
  }
}

/**
 * Writes `content` to `path` atomically (temp file + rename) with `mode`. A private key is never
 * observable with wider permissions, and a failure never leaves half a file, nor the temp file.
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
  const dir = dirname(path);
  assertOrdinaryFolder(dir);
  try {
    makeFolders(dir);
  } catch (err) {
    throw ioError(err, 'create the folder', dir);
  }
  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w', mode);
    // write() may write less than asked (a nearly full disk) without an error; the next call reports ENOSPC.
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    closeSync(fd);
    fd = undefined;
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already renamed
    }
    throw ioError(err, 'write', path);
  }
}

export const writeSecret = (path: string, content: string, overwrite = false) =>
  writeFileSafe(path, content, { mode: 0o600, overwrite });
