// File and folder arguments of the fleet commands: inputs read at once or refused (a FIFO never blocks), outputs
// refused before any work when they are the wrong kind of file, and file system errors that say what to do.
import { statSync } from 'node:fs';
import {
  assertOrdinaryFolder,
  describeIoError,
  FileError,
  isIoError,
  readRegularText,
} from '../../../shared/src/index.js';

/** Adds what the user can do to a file system error (it stays FILE_IO); any other error passes unchanged. */
export function withHint(err: unknown, hint: string): unknown {
  if (err instanceof FileError) return new FileError(err.path, err.reason, `${err.message}; ${hint}`, { cause: err });
  if (isIoError(err)) {
    const path = err.path ?? '';
    const what = `${err.syscall}${path ? ` ${path}` : ''}`;
    return new FileError(path, err.code ?? 'error', `${what}: ${describeIoError(err)}; ${hint}`, { cause: err });
  }
  return err;
}

/** Reads a small text file given on the command line; FILE_IO with `hint` when it is missing or not a file. */
export function readInputText(path: string, hint: string, maxBytes = 64 * 1024): string {
  try {
    return readRegularText(path, { maxBytes });
  } catch (err) {
    throw withHint(err, hint);
  }
}

function isExistingFolder(path: string): boolean | undefined {
  try {
    return statSync(path).isDirectory();
  } catch {
    return undefined; // absent (or unreadable): creating or writing it reports the reason
  }
}

/** An output folder (created if absent): refused at once when it is a file or on a file system such as /proc. */
export function requireOutputFolder(dir: string, flag: string, hint: string): void {
  try {
    assertOrdinaryFolder(dir);
  } catch (err) {
    throw withHint(err, hint);
  }
  if (isExistingFolder(dir) === false) {
    throw new FileError(dir, 'not-a-folder', `cannot use ${flag} ${dir}: it is a file, not a folder; ${hint}`);
  }
}

/** An output file: refused at once when it is a folder or on a file system such as /proc. */
export function requireOutputFile(path: string, flag: string, hint: string): void {
  if (isExistingFolder(path) === true) {
    throw new FileError(path, 'is-a-folder', `cannot write ${flag} ${path}: it is a folder, not a file; ${hint}`);
  }
  try {
    assertOrdinaryFolder(path);
  } catch (err) {
    throw withHint(err, hint);
  }
}
