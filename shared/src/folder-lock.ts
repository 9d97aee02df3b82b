// One process per folder: an exclusive SQLite lock on a lock file, held until release() and released by the
// operating system however the process ends (no stale lock after a crash or kill -9). The fleet server holds its
// data folder this way and the agent its state folder. Not in shared's index: it loads the native SQLite addon,
// which the tools that never lock a folder (fw) should not pay for at start-up.
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';

export interface FolderLock {
  release(): void;
}

/**
 * Takes the lock on `file` (created 0600 if need be). Returns null when another process holds it; other errors
 * (permissions, a full disk) are thrown as they are, for the caller to name.
 */
export function tryLockFile(file: string): FolderLock | null {
  let lock: Database.Database | undefined;
  try {
    lock = new Database(file);
    chmodSync(file, 0o600);
    lock.pragma('busy_timeout = 0');
    lock.pragma('locking_mode = EXCLUSIVE');
    // The first write in exclusive locking mode takes the lock for as long as the connection is open.
    lock.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL); DELETE FROM holder;');
    lock.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
  } catch (err) {
    lock?.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return null;
    throw err;
  }
  const held = lock;
  return { release: () => void held.close() };
}
