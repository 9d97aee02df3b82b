// Opens the fleet SQLite database (WAL, foreign keys, busy timeout) and applies pending migrations.
import Database from 'better-sqlite3';
import { AtRestError, openKeyedDatabase, type StorageKey } from '../../../shared/src/index.js';
import { FleetError } from '../errors.js';
import { dbFailure, failureCodeOf, sqliteCode } from './failure.js';
import { assertIntact } from './integrity.js';
import { migrations as allMigrations, type Migration } from './migrations.js';

export type Db = Database.Database;

export interface OpenOptions {
  readonly readonly?: boolean;
  /** 'FULL' makes every commit durable across power loss; 'NORMAL' may lose the last commits. */
  readonly synchronous?: 'FULL' | 'NORMAL';
  readonly migrations?: readonly Migration[];
  /** Run PRAGMA quick_check before anything is written (the fleet server at start-up): FLEET_DB_CORRUPT if it fails. */
  readonly quickCheck?: boolean;
  /**
   * The folder's storage key: the database is then opened with SQLite3 Multiple Ciphers, every page (WAL frames
   * too) encrypted with ChaCha20-Poly1305 under it. All connections to one file must agree
   * (docs/encryption-at-rest.md).
   */
  readonly storageKey?: StorageKey | undefined;
}

/**
 * A checkpointed WAL file is cut back to this size when it is next reused. SQLite's default keeps it at its largest
 * (32 MiB and more after a burst, with the ingest thread's checkpoint every 8,000 pages) on a disk that may be small.
 */
export const JOURNAL_SIZE_LIMIT = 4 * 1024 * 1024;

/** How long a statement waits for another connection's lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens the database; a damaged, unreadable or full one is refused with FLEET_DB_CORRUPT, FLEET_DB_IO or
 * FLEET_DB_FULL naming the file, never SQLite's bare error.
 */
export function openDb(file: string, opts: OpenOptions = {}): Db {
  let db: Db | undefined;
  try {
    const readonly = opts.readonly ?? false;
    db = opts.storageKey
      ? openKeyedDatabase(file, opts.storageKey, { readonly })
      : new Database(file, { readonly, fileMustExist: readonly });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (opts.quickCheck) assertIntact(db, 'quick_check', file);
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
      db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
      db.pragma('foreign_keys = ON');
      migrate(db, opts.migrations ?? allMigrations);
    }
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof AtRestError) throw err;
    throw dbFailure(err, file) ?? err;
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies each migration above the stored user_version in its own transaction. */
export function migrate(db: Db, migrations: readonly Migration[]): void {
  const current = schemaVersion(db);
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new FleetError(
      'FLEET_DB_MIGRATION',
      `database schema version ${current} is newer than this build (${latest}); upgrade edgeward`,
    );
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    try {
      db.transaction(() => {
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    } catch (err) {
      // A damaged or full disk is not the migration's fault: openDb reports it as such, naming the file.
      if (failureCodeOf(sqliteCode(err))) throw err;
      throw new FleetError(
        'FLEET_DB_MIGRATION',
        `migration ${m.version} (${m.name}) failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}
