// One agent per state folder: an exclusive SQLite lock on STATE/agent.lock, held while agent.db is open for
// writing and released by the operating system however the process ends. The same scheme as the fleet server's
// lockDataDir (broker/src/fleet/data-dir.ts). Readers (`iot-agent status`) open agent.db only, so they never wait.
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError } from '../errors.js';

export const STATE_LOCK_FILE = 'agent.lock';

export interface StateLock {
  release(): void;
}

/** Takes the state folder's lock (the folder must exist); throws AGENT_STATE_IN_USE when another agent holds it. */
export function lockStateDir(stateDir: string): StateLock {
  const file = join(stateDir, STATE_LOCK_FILE);
  const lock = new Database(file);
  try {
    chmodSync(file, 0o600);
    lock.pragma('busy_timeout = 0');
    lock.pragma('locking_mode = EXCLUSIVE');
    // The first write in exclusive locking mode takes the lock for as long as the connection is open.
    lock.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL); DELETE FROM holder;');
    lock.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
  } catch (err) {
    lock.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new AgentError(
        'AGENT_STATE_IN_USE',
        `another agent is running on the state folder ${stateDir} (iot-agent status shows it); stop it first, or ` +
          'give each agent its own stateDir',
        { cause: err },
      );
    }
    throw err;
  }
  return { release: () => void lock.close() };
}
