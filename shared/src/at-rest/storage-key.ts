// The storage key of encryption at rest: 32 random bytes, written as 64 hex digits in a file of mode 0600 that
// lives outside the folder it protects (`openssl rand -hex 32 > key; chmod 600 key`), or derived inside a PKCS#11
// token from a secret key that never leaves it.
import { fstatSync, closeSync, openSync, readSync, constants } from 'node:fs';
import { relative, resolve, isAbsolute } from 'node:path';
import { ioError } from '../files.js';
import { AtRestError } from './errors.js';
import { deriveFromToken } from '../pkcs11/secret.js';
import { isPkcs11Uri } from '../pkcs11/uri.js';

export interface StorageKey {
  readonly bytes: Uint8Array;
  /** Where it came from, for messages (a path or a credential name); never the key itself. */
  readonly source: string;
  /** The key as SQLite3 Multiple Ciphers' raw-key literal: no KDF, the bytes are the page key. */
  readonly sqlKey: string;
  /** The page cipher of the databases it opens (keyed-db.ts); chacha20 when unset (every folder before aegis). */
  readonly cipher?: PageCipher;
}

/**
 * SQLite3 Multiple Ciphers' page ciphers edgeward uses, both authenticated: ChaCha20-Poly1305 (fast without AES
 * instructions: the agent's gateways) and AEGIS-256 (fast with them: servers; new fleet data folders).
 */
export type PageCipher = 'chacha20' | 'aegis';
export const PAGE_CIPHERS: readonly PageCipher[] = ['chacha20', 'aegis'];

export const STORAGE_KEY_ENV = 'EDGEWARD_STORAGE_KEY_FILE';
const KEY_BYTES = 32;
/** 64 hex digits and an optional line end: anything bigger is not a key file. */
const MAX_FILE_BYTES = 66;

export function storageKeyFromBytes(bytes: Uint8Array, source: string): StorageKey {
  if (bytes.length !== KEY_BYTES) {
    throw new AtRestError('AT_REST_KEY_INVALID', `the storage key from ${source} is not ${KEY_BYTES} bytes`);
  }
  const hex = Buffer.from(bytes).toString('hex');
  return Object.freeze({ bytes: Uint8Array.from(bytes), source, sqlKey: `x'${hex}'` });
}

/** Whether `file` is `folder` or lies under it (paths compared resolved, not through links). */
export function isInside(file: string, folder: string): boolean {
  const rel = relative(resolve(folder), resolve(file));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export interface ReadKeyOptions {
  /** Refuse a key file inside these folders (the data folder it protects). */
  readonly notInside?: readonly string[];
  /** Owners allowed besides root (the agent's user); default: the current user and root. */
  readonly owners?: readonly number[];
}

/**
 * Reads a storage key file: a regular file, mode 0600 or stricter (no group or other bits), owned by root or the
 * current user, holding exactly 64 hex digits (a trailing newline is allowed). Every refusal is AT_REST_KEY_INVALID
 * naming the file and what to fix; the key never appears in a message.
 */
export function readStorageKeyFile(path: string, opts: ReadKeyOptions = {}): StorageKey {
  for (const folder of opts.notInside ?? []) {
    if (isInside(path, folder)) {
      throw new AtRestError(
        'AT_REST_KEY_INVALID',
        `the storage key ${path} is inside ${folder}, the folder it protects: keep it elsewhere (a backup of the ` +
          'folder must not carry its key)',
      );
    }
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw ioError(err, 'read the storage key', path);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new AtRestError('AT_REST_KEY_INVALID', `the storage key ${path} is not a regular file`);
    if ((info.mode & 0o077) !== 0) {
      throw new AtRestError(
        'AT_REST_KEY_INVALID',
        `the storage key ${path} has mode 0${(info.mode & 0o777).toString(8)}: others can read it; ` +
          `run \`chmod 600 ${path}\``,
      );
    }
    const owners = opts.owners ?? [0, process.getuid?.() ?? 0];
    if (!owners.includes(info.uid)) {
      throw new AtRestError(
        'AT_REST_KEY_INVALID',
        `the storage key ${path} is owned by uid ${info.uid}; it must belong to root or the user that runs edgeward`,
      );
    }
    if (info.size > MAX_FILE_BYTES) {
      throw new AtRestError('AT_REST_KEY_INVALID', `the storage key ${path} is too large: expected 64 hex digits`);
    }
    const buf = Buffer.alloc(info.size);
    const n = info.size === 0 ? 0 : readSync(fd, buf, 0, info.size, 0);
    const text = buf
      .subarray(0, n)
      .toString('latin1')
      .replace(/\r?\n$/, '');
    buf.fill(0);
    if (!/^[0-9a-fA-F]{64}$/.test(text)) {
      throw new AtRestError(
        'AT_REST_KEY_INVALID',
        `the storage key ${path} is not 64 hex digits (32 random bytes); make one with ` +
          '`openssl rand -hex 32 > FILE && chmod 600 FILE`',
      );
    }
    return storageKeyFromBytes(Buffer.from(text, 'hex'), path);
  } catch (err) {
    if (err instanceof AtRestError) throw err;
    throw ioError(err, 'read the storage key', path);
  } finally {
    closeSync(fd);
  }
}

/** What a storage key is for: the HMAC input of a key derived inside a PKCS#11 token (one token key, one purpose). */
export const STORAGE_KEY_PURPOSE = {
  fleet: 'edgeward fleet data folder storage key v1',
  agent: 'edgeward agent state storage key v1',
} as const;

export interface StorageKeySourceOptions extends ReadKeyOptions {
  readonly purpose: keyof typeof STORAGE_KEY_PURPOSE;
  /** PKCS#11: make the token key when the token has none under that label (a folder being encrypted). */
  readonly create?: boolean;
}

/**
 * A storage key from a key file (readStorageKeyFile) or from an RFC 7512 PKCS#11 URI naming a secret key in a
 * token, from which it is derived there (pkcs11/secret.ts). Messages name the URI without its query (the PIN).
 */
export function readStorageKey(source: string, opts: StorageKeySourceOptions): StorageKey {
  if (!isPkcs11Uri(source)) return readStorageKeyFile(source, opts);
  const bytes = deriveFromToken(source, STORAGE_KEY_PURPOSE[opts.purpose], { create: opts.create ?? false });
  try {
    return storageKeyFromBytes(bytes, source.split('?')[0]!);
  } finally {
    bytes.fill(0);
  }
}
