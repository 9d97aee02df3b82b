// Encryption at rest of a fleet data folder: the marker that says a folder is encrypted, and the storage key that
// opens it. The key never lives in the folder; the marker holds only a sealed known text to check a key against.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  AtRestError,
  readRegularText,
  readStorageKey,
  seal,
  STORAGE_KEY_ENV,
  PAGE_CIPHERS,
  type PageCipher,
  type StorageKey,
  unseal,
  writeFileSafe,
} from '../../../shared/src/index.js';

/**
 * The page cipher of a folder encrypted from now on: AEGIS-256, about 0.95 of plain SQLite's insert rate on this
 * x86 machine against 0.70 for ChaCha20-Poly1305 (both authenticated). Folders made before keep theirs (the marker).
 */
export const NEW_FOLDER_CIPHER: PageCipher = 'aegis';

/** DATA/at-rest.json: present means every database and key file of the folder is encrypted. */
export const AT_REST_MARKER = 'at-rest.json';
const CHECK_TEXT = 'edgeward fleet data folder at rest v1';

interface Marker {
  readonly version: 1;
  /** The SQLite3 Multiple Ciphers page cipher of the folder's databases. */
  readonly cipher: PageCipher;
  /** CHECK_TEXT sealed under the storage key (base64): a wrong key is named before any file is opened. */
  readonly check: string;
}

export const isEncryptedFolder = (dir: string): boolean => existsSync(join(resolve(dir), AT_REST_MARKER));

/** The key file named by --storage-key, else by EDGEWARD_STORAGE_KEY_FILE (an empty variable counts as unset). */
export function storageKeyFileOf(flag: string | undefined, env = process.env): string | undefined {
  return flag ?? (env[STORAGE_KEY_ENV] || undefined);
}

/** Reads and checks the key file for a folder that is about to be encrypted (refused inside the folder). */
export function readNewStorageKey(dir: string, keyFile: string): StorageKey {
  return {
    ...readStorageKey(keyFile, { notInside: [resolve(dir)], purpose: 'fleet', create: true }),
    cipher: NEW_FOLDER_CIPHER,
  };
}

export function writeMarker(dir: string, key: StorageKey): void {
  const marker: Marker = {
    version: 1,
    cipher: key.cipher ?? 'chacha20',
    check: seal(key, Buffer.from(CHECK_TEXT)).toString('base64'),
  };
  writeFileSafe(join(resolve(dir), AT_REST_MARKER), `${JSON.stringify(marker, null, 2)}\n`, { mode: 0o600 });
}

/**
 * The storage key of a data folder: undefined for a folder that is not encrypted; for an encrypted one, the key
 * from `keyFile` once it is checked against the marker. Refuses a missing key (AT_REST_KEY_MISSING), a wrong one
 * (AT_REST_KEY_WRONG) and a key for a folder that is not encrypted (AT_REST_NOT_ENCRYPTED), before any file of
 * the folder is opened or written.
 */
export function dataFolderKey(dir: string, keyFile: string | undefined): StorageKey | undefined {
  const root = resolve(dir);
  const markerFile = join(root, AT_REST_MARKER);
  if (!existsSync(markerFile)) {
    if (keyFile === undefined) return undefined;
    throw new AtRestError(
      'AT_REST_NOT_ENCRYPTED',
      `${root} is not encrypted at rest, but a storage key was given (${keyFile}): drop --storage-key (and ` +
        `unset ${STORAGE_KEY_ENV}), or give the encrypted folder it belongs to`,
    );
  }
  if (keyFile === undefined) {
    throw new AtRestError(
      'AT_REST_KEY_MISSING',
      `${root} is encrypted at rest: give its storage key with --storage-key FILE or ${STORAGE_KEY_ENV}=FILE`,
    );
  }
  const key = readStorageKey(keyFile, { notInside: [root], purpose: 'fleet' });
  const marker = readMarker(markerFile);
  const check = unseal(key, Buffer.from(marker.check, 'base64'), markerFile);
  if (check.toString() !== CHECK_TEXT) {
    throw new AtRestError('AT_REST_SEALED_FILE', `${markerFile} is damaged: restore it from a backup`);
  }
  return { ...key, cipher: marker.cipher };
}

/** The folder's marker, checked: AT_REST_SEALED_FILE when it is damaged or of a kind this build does not know. */
function readMarker(markerFile: string): Marker {
  let marker: Partial<Marker>;
  try {
    marker = JSON.parse(readRegularText(markerFile, { maxBytes: 4096 })) as Partial<Marker>;
  } catch (err) {
    throw new AtRestError('AT_REST_SEALED_FILE', `${markerFile} is damaged: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (marker.version !== 1 || !PAGE_CIPHERS.includes(marker.cipher!) || typeof marker.check !== 'string') {
    throw new AtRestError('AT_REST_SEALED_FILE', `${markerFile} is not a marker this build knows; upgrade edgeward`);
  }
  return marker as Marker;
}

/**
 * The key with the page cipher of the folder's databases, as its marker names it: a key made elsewhere (a caller
 * of createFleetServer, a test) opens an AEGIS folder as well as a ChaCha20 one. A key that names its cipher (from
 * dataFolderKey), no key, or a folder without a marker this build reads: as it is.
 */
export function withFolderCipher(dir: string, key: StorageKey | undefined): StorageKey | undefined {
  if (!key || key.cipher) return key;
  try {
    return { ...key, cipher: readMarker(join(resolve(dir), AT_REST_MARKER)).cipher };
  } catch {
    return key; // no marker (assertKeyFits says so) or a bad one: the open fails on the key, as before
  }
}

/**
 * A key given to a plain folder, or none to an encrypted one, is refused before a file is touched: a plain SQLite
 * opening an encrypted database would only say "not a database" (FLEET_DB_CORRUPT), which sends the operator to
 * their backups for nothing.
 */
export function assertKeyFits(dir: string, key: StorageKey | undefined): void {
  const encrypted = isEncryptedFolder(dir);
  if (encrypted && !key) {
    throw new AtRestError(
      'AT_REST_KEY_MISSING',
      `${resolve(dir)} is encrypted at rest: give its storage key with --storage-key FILE or ${STORAGE_KEY_ENV}=FILE`,
    );
  }
  if (!encrypted && key) {
    throw new AtRestError(
      'AT_REST_NOT_ENCRYPTED',
      `${resolve(dir)} is not encrypted at rest, but a storage key was given (${key.source}): drop --storage-key ` +
        `(and unset ${STORAGE_KEY_ENV}), or give the encrypted folder it belongs to`,
    );
  }
}
