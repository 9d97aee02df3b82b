// Opens the agent's one state database, agent.db in the state folder (0700, file 0600), and migrates it, holding
// the folder's lock (agent.lock) while it is open.
// WAL + synchronous=FULL: whatever a call has written is on disk when the call returns (power loss included).
import Database from 'better-sqlite3';
import { chmodSync, existsSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  AtRestError,
  describeIoError,
  ensurePrivateDir,
  looksEncrypted,
  openKeyedDatabase,
  type StorageKey,
} from '../../../shared/src/index.js';
import { AgentError } from '../errors.js';
import { lockStateDir, type StateLock } from './lock.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';

export const STATE_DB_FILE = 'agent.db';

export type StateDb = Database.Database;

function migrate(db: StateDb): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > LATEST_VERSION) throw new Error(`state schema ${version} is newer than this agent (${LATEST_VERSION})`);
  for (const m of MIGRATIONS) {
    if (m.version <= version) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

/** The state folder is a folder, or not there yet: anything else (a file, say) is AGENT_STATE_DIR. */
export function assertFolderOrAbsent(stateDir: string): void {
  let info: Stats | undefined;
  try {
    info = statSync(stateDir, { throwIfNoEntry: false });
  } catch (err) {
    throw new AgentError('AGENT_STATE_DIR', `cannot read the agent state in ${stateDir}: ${describeIoError(err)}`, {
      cause: err,
    });
  }
  if (info && !info.isDirectory()) {
    throw new AgentError('AGENT_STATE_DIR', `the state folder ${stateDir} is not a folder; check stateDir`);
  }
}

export const missingKey = (file: string) =>
  new AtRestError(
    'AT_REST_KEY_MISSING',
    `${file} is encrypted at rest and the config names no storage key: set storage.key (docs/agent-config.md)`,
  );

/** The lock each open agent.db holds on its folder, released when closeStateDb closes it. */
const locks = new WeakMap<StateDb, StateLock>();

/**
 * Creates the folder if needed, takes its lock (one agent per folder) and opens agent.db at the latest schema;
 * throws AGENT_STATE_IN_USE when another agent has the folder, AGENT_STATE_DIR for anything else.
 */
export function openStateDb(stateDir: string, storageKey?: StorageKey): StateDb {
  let lock: StateLock | undefined;
  try {
    assertFolderOrAbsent(stateDir);
    const file = join(stateDir, STATE_DB_FILE);
    if (!storageKey && looksEncrypted(file)) throw missingKey(file);
    // A wrong key is refused before the lock is taken: a refused start changes nothing in the folder.
    if (storageKey && existsSync(file)) openKeyedDatabase(file, storageKey, { readonly: true }).close();
    // Refuses /proc and the like before its mkdir (a recursive mkdir there never returns); names the cause.
    ensurePrivateDir(stateDir);
    lock = lockStateDir(stateDir);
    const db = storageKey ? openKeyedDatabase(file, storageKey) : new Database(file);
    try {
      chmodSync(file, 0o600);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 2000');
      migrate(db);
    } catch (err) {
      db.close();
      throw err;
    }
    locks.set(db, lock);
    return db;
  } catch (err) {
    lock?.release();
    if (err instanceof AgentError || err instanceof AtRestError) throw err;
    throw new AgentError('AGENT_STATE_DIR', `cannot open the agent state in ${stateDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Writes the WAL back into the database file, closes it (a clean stop leaves one self-contained file) and
 * releases the folder's lock.
 */
export function closeStateDb(db: StateDb): void {
  if (db.open) {
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // a reader (iot-agent status) may hold the WAL; closing still checkpoints what it can
    }
    db.close();
  }
  locks.get(db)?.release();
  locks.delete(db);
}
