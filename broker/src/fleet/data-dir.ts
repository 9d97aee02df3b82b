// The fleet data folder: where the database and the PKI live, and how to open them.
import { existsSync, rmSync, statSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { FleetError } from '../errors.js';
import { dbFailure } from '../db/failure.js';
import { tryLockFile, type FolderLock } from '../../../shared/src/folder-lock.js';
import { openDb, type Db, type OpenOptions } from '../db/open.js';
import {
  ensurePrivateDir,
  readRegularText,
  readSealedText,
  type StorageKey,
  writeFileSafe,
  writeSealedSecret,
  writeSecret,
} from '../../../shared/src/index.js';
import { EdgewardError } from '../../../shared/src/errors.js';
import { AT_REST_MARKER, assertKeyFits, withFolderCipher, writeMarker } from './at-rest.js';
import { isPkcs11Uri } from '../../../shared/src/pkcs11/index.js';
import { generateTokenCaKey, openTokenCaKey, TokenCaKey } from '../pki/token-ca-key.js';
import {
  createCa,
  generateKeyPair,
  importPrivateKeyPem,
  issueServerCert,
  parseCertificate,
  privateKeyPem,
  type CaBundle,
  type SanEntry,
} from '../pki/x509.js';
import { ensureBackendSealKey } from './seal-keys.js';

export interface FleetPaths {
  readonly root: string;
  readonly db: string;
  /** Held by the fleet server that serves the folder (lockDataDir). */
  readonly lock: string;
  readonly pki: string;
  readonly caKey: string;
  readonly caCert: string;
  readonly serverKey: string;
  readonly serverCert: string;
  /** The backend's X25519 sealing key (0600) and its public half, which devices get beside the CA (seal-keys.ts). */
  readonly sealKey: string;
  readonly sealPub: string;
  /** Published firmware bundles, each named by its SHA-256 (fleet/releases.ts). */
  readonly releases: string;
}

export function fleetPaths(dir: string): FleetPaths {
  const root = resolve(dir);
  const pki = join(root, 'pki');
  return {
    root,
    db: join(root, 'fleet.db'),
    lock: join(root, 'fleet.lock'),
    pki,
    caKey: join(pki, 'ca.key'),
    caCert: join(pki, 'ca.crt'),
    serverKey: join(pki, 'server.key'),
    serverCert: join(pki, 'server.crt'),
    sealKey: join(pki, 'seal.key'),
    sealPub: join(pki, 'seal.pub'),
    releases: join(root, 'releases'),
  };
}

export const DEFAULT_SANS: readonly SanEntry[] = [
  { type: 'dns', value: 'localhost' },
  { type: 'ip', value: '127.0.0.1' },
  { type: 'ip', value: '::1' },
];

export interface PkiInitOptions {
  readonly sans?: readonly SanEntry[];
  readonly caName?: string;
  readonly caValidityDays?: number;
  readonly serverValidityDays?: number;
  /**
   * Encrypt the folder at rest under this key (`--encrypt-at-rest`): the database with SQLite3 Multiple Ciphers,
   * the private keys sealed (shared/src/at-rest). The caller checked it is not inside the folder.
   */
  readonly storageKey?: StorageKey;
  /**
   * A PKCS#11 URI: the CA key is generated inside that token (P-256, non-extractable) and DIR/pki/ca.key holds
   * only the URI, which names the token, the key and where its PIN is, never the PIN itself (pin-value is refused).
   */
  readonly caKeyUri?: string;
}

/**
 * Creates the fleet CA and the server certificate, and the database. Refuses to overwrite an existing CA, and a
 * data or pki path that is a file. A failure part-way removes the files written so far, so a retry starts clean
 * instead of meeting half a CA (FLEET_PKI_EXISTS).
 */
export async function initPki(dir: string, opts: PkiInitOptions = {}): Promise<FleetPaths> {
  const p = fleetPaths(dir);
  if (existsSync(p.caKey) || existsSync(p.caCert)) {
    throw new FleetError(
      'FLEET_PKI_EXISTS',
      `${p.pki} already holds a fleet CA; use another --data folder or remove it deliberately`,
    );
  }
  for (const folder of [p.root, p.pki]) {
    if (existsSync(folder) && !statSync(folder).isDirectory()) {
      throw new FleetError(
        'FLEET_DATA_DIR',
        `${folder} is a file, not a folder; give --data a folder for the fleet data (it is created if absent)`,
      );
    }
  }
  if (opts.caKeyUri !== undefined && /[?&]pin-value=/.test(opts.caKeyUri)) {
    throw new FleetError(
      'FLEET_PKI_INVALID',
      'the --ca-key URI is stored in DIR/pki/ca.key: give the PIN with pin-source=file:PATH, not pin-value',
    );
  }
  ensurePrivateDir(p.root);
  ensurePrivateDir(p.pki);
  const tokenKey = opts.caKeyUri === undefined ? undefined : generateTokenCaKey(opts.caKeyUri);
  const ca = await createCa(opts.caName ?? 'edgeward fleet CA', opts.caValidityDays ?? 3650, Date.now(), tokenKey);
  // A folder whose CA was removed may still hold its database: only files this call creates are removed on failure.
  const marker = join(p.root, AT_REST_MARKER);
  const created = [
    p.caKey,
    p.caCert,
    p.serverKey,
    p.serverCert,
    p.sealKey,
    p.sealPub,
    p.db,
    `${p.db}-wal`,
    `${p.db}-shm`,
    marker,
  ].filter((file) => !existsSync(file));
  const key = opts.storageKey;
  if (key && existsSync(p.db)) {
    throw new FleetError(
      'FLEET_DATA_DIR',
      `${p.db} already exists: --encrypt-at-rest makes a new folder; give --data an empty or new folder`,
    );
  }
  try {
    const caKey = ca.keys.privateKey;
    writeKeyFile(p.caKey, caKey instanceof TokenCaKey ? `${caKey.uri}\n` : await privateKeyPem(caKey), key);
    writeFileSafe(p.caCert, ca.cert.toString('pem'));
    await writeServerCertificate(
      p,
      { cert: ca.cert, key: ca.keys.privateKey },
      opts.sans ?? DEFAULT_SANS,
      opts.serverValidityDays ?? 825,
      key,
    );
    ensureBackendSealKey(p, key);
    openDb(p.db, { storageKey: key }).close();
    // Last: a folder is marked encrypted only once everything in it is.
    if (key) writeMarker(p.root, key);
  } catch (err) {
    for (const file of created) rmSync(file, { force: true });
    throw err;
  }
  return p;
}

export async function writeServerCertificate(
  p: FleetPaths,
  ca: CaBundle,
  sans: readonly SanEntry[],
  validityDays: number,
  storageKey?: StorageKey,
): Promise<void> {
  const keys = await generateKeyPair();
  const cert = await issueServerCert(ca, keys.publicKey, sans, validityDays);
  writeKeyFile(p.serverKey, await privateKeyPem(keys.privateKey), storageKey, true);
  writeFileSafe(p.serverCert, cert.toString('pem'), { overwrite: true });
}

/** A private key file: sealed under the storage key in an encrypted folder, else PEM; mode 0600 either way. */
function writeKeyFile(path: string, pem: string, key: StorageKey | undefined, overwrite = false): void {
  if (key) writeSealedSecret(key, path, pem, overwrite);
  else writeSecret(path, pem, overwrite);
}

/** Reads a file of the pki folder; `key` unseals a private key of an encrypted folder. */
function readRequired(path: string, what: string, key?: StorageKey): string {
  try {
    return key ? readSealedText(key, path) : readRegularText(path, { maxBytes: 1024 * 1024 });
  } catch (err) {
    if (err instanceof EdgewardError && err.code.startsWith('AT_REST_')) throw err;
    throw new FleetError(
      'FLEET_DATA_DIR',
      `cannot read the ${what}: ${(err as Error).message}; run \`fleet pki init --data DIR\` first, or restore ` +
        'the pki folder from a backup',
      { cause: err },
    );
  }
}

export interface ServerTlsMaterial {
  readonly ca: string;
  readonly key: string;
  readonly cert: string;
}

/** `storageKey`: the folder's key when it is encrypted at rest (at-rest.ts dataFolderKey). */
export function loadServerTls(dir: string, storageKey?: StorageKey): ServerTlsMaterial {
  const p = fleetPaths(dir);
  assertKeyFits(p.root, storageKey);
  return {
    ca: readRequired(p.caCert, 'CA certificate'),
    key: readRequired(p.serverKey, 'server key', storageKey),
    cert: readRequired(p.serverCert, 'server certificate'),
  };
}

export async function loadCa(dir: string, storageKey?: StorageKey): Promise<CaBundle> {
  const p = fleetPaths(dir);
  assertKeyFits(p.root, storageKey);
  const certPem = readRequired(p.caCert, 'CA certificate');
  const keyPem = readRequired(p.caKey, 'CA key', storageKey);
  // A CA made with --ca-key PKCS11-URI keeps only that URI in ca.key (sealed in an encrypted folder); the key stays
  // in its token.
  const sealPublicKey = ensureBackendSealKey(p, storageKey).publicKey;
  if (isPkcs11Uri(keyPem))
    return { cert: parseCertificate(certPem), key: openTokenCaKey(keyPem.trim()), sealPublicKey };
  try {
    return { cert: parseCertificate(certPem), key: await importPrivateKeyPem(keyPem), sealPublicKey };
  } catch (err) {
    throw new FleetError('FLEET_PKI_INVALID', `the CA at ${p.pki} cannot be loaded: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export interface FleetDbOptions extends OpenOptions {
  /**
   * Create an empty database where the folder's was lost (`fleet serve --init-empty-db`). Never implicit: an empty
   * database refuses every registered device as unregistered.
   */
  readonly initEmpty?: boolean;
}

/**
 * Opens the fleet database of an initialised data folder. `fleet pki init` makes the database with the CA, so a
 * folder holding a CA with no database, or an empty file, has lost it: refused (FLEET_DB_MISSING) rather than
 * given a fresh schema, unless `initEmpty` says so.
 */
export function openFleetDb(dir: string, opts: FleetDbOptions = {}): Db {
  const p = fleetPaths(dir);
  if (!existsSync(p.caCert)) {
    throw new FleetError(
      'FLEET_DATA_DIR',
      `${p.root} is not an initialised fleet data folder; run \`fleet pki init --data ${dir}\` first`,
    );
  }
  const { initEmpty = false, ...open } = opts;
  assertKeyFits(p.root, open.storageKey);
  assertDatabaseKept(p, initEmpty);
  return openDb(p.db, { ...open, storageKey: withFolderCipher(p.root, open.storageKey) });
}

function statIfAny(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    throw new FleetError('FLEET_DB_IO', `cannot examine ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function assertDatabaseKept(p: FleetPaths, initEmpty: boolean): void {
  const db = statIfAny(p.db);
  if (db && !db.isFile()) {
    throw new FleetError(
      'FLEET_DB_IO',
      `${p.db} is ${db.isDirectory() ? 'a folder' : 'not a regular file'}, not a database file: put the fleet ` +
        'database back there (restore it from a backup, docs/operations.md)',
    );
  }
  if (db && db.size > 0) return;
  const state = db ? 'is empty (0 bytes)' : 'is missing';
  // SQLite deletes the WAL of a database with no pages: it may hold everything written since the last checkpoint.
  const wal = statIfAny(`${p.db}-wal`);
  const walBytes = wal?.isFile() ? wal.size : 0;
  if (!initEmpty) {
    throw new FleetError(
      'FLEET_DB_MISSING',
      `${p.db} ${state}, but ${p.pki} holds the fleet CA: the database was deleted or lost, and with it every ` +
        `registered device. Restore it from a backup (docs/operations.md)` +
        (walBytes > 0 ? `, keeping ${p.db}-wal (${walBytes} bytes) aside with it` : '') +
        '; or, to start with an empty database on purpose (every device registered again), run ' +
        '`fleet serve --init-empty-db`',
    );
  }
  if (walBytes > 0) {
    throw new FleetError(
      'FLEET_DB_MISSING',
      `${p.db} ${state} but ${p.db}-wal holds ${walBytes} bytes, which SQLite would delete with the new database: ` +
        'move it aside (keep it with your backups), then run --init-empty-db again',
    );
  }
}

/**
 * Claims the data folder for one fleet server: an exclusive SQLite lock on DATA/fleet.lock, held until release()
 * and released by the operating system however the process ends. Ingest relies on it: it stores each sample once
 * because it is the only writer of telemetry. The CLI's commands do not take it; they share fleet.db as usual.
 */
export function lockDataDir(dir: string): FolderLock {
  const file = fleetPaths(dir).lock;
  let lock: FolderLock | null;
  try {
    lock = tryLockFile(file);
  } catch (err) {
    throw dbFailure(err, file) ?? err;
  }
  if (!lock) {
    throw new FleetError(
      'FLEET_DATA_IN_USE',
      `another fleet server is running on ${fleetPaths(dir).root}; stop it first, or use another --data folder`,
    );
  }
  return lock;
}
