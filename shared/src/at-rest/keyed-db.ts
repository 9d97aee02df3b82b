// SQLite databases encrypted under the storage key: better-sqlite3 built with SQLite3 Multiple Ciphers (the same
// API), every page of the database and of its WAL encrypted and authenticated with the key's page cipher
// (ChaCha20-Poly1305, or AEGIS-256 for fleet data folders made since it: storage-key.ts PageCipher).
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { AtRestError } from './errors.js';
import type { StorageKey } from './storage-key.js';

/**
 * Loaded only for an encrypted folder, so a plain one keeps the one SQLite it always had. Two SQLite copies in one
 * process must never share a file: POSIX locks are per process, and one copy closing the file would drop the
 * other's locks. A folder is either encrypted or not, so all its connections use the same copy.
 */
let cipherDatabase: typeof Database | undefined;
function keyedDatabaseClass(): typeof Database {
  cipherDatabase ??= createRequire(import.meta.url)('better-sqlite3-multiple-ciphers') as typeof Database;
  return cipherDatabase;
}

/**
 * Opens `file` keyed with `key`. A wrong key, or a plain database given a key, is refused (AT_REST_KEY_WRONG)
 * before anything is written: the first read of the schema fails with SQLITE_NOTADB.
 */
export function openKeyedDatabase(file: string, key: StorageKey, opts: { readonly?: boolean } = {}): Database.Database {
  const readonly = opts.readonly ?? false;
  const Keyed = keyedDatabaseClass();
  const db = new Keyed(file, { readonly, fileMustExist: readonly });
  try {
    db.pragma(`cipher = '${key.cipher ?? 'chacha20'}'`);
    // The x'…' literal is a raw 256-bit key: no passphrase KDF, so a connection opens in microseconds.
    db.pragma(`key = "${key.sqlKey}"`);
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_NOTADB') {
      throw new AtRestError(
        'AT_REST_KEY_WRONG',
        `${file} does not open with the storage key ${key.source}: another key, or a database that is not ` +
          'encrypted (or is damaged)',
        { cause: err },
      );
    }
    throw err;
  }
  return db;
}

const PLAIN_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Whether `file` starts like an encrypted database rather than a plain one: a non-empty file without SQLite's
 * plain header. Lets a reader without the key say so (AT_REST_KEY_MISSING) instead of "not a database".
 */
export function looksEncrypted(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(PLAIN_HEADER.length);
    const n = readSync(fd, head, 0, head.length, 0);
    return n === head.length && !head.equals(PLAIN_HEADER);
  } finally {
    closeSync(fd);
  }
}
