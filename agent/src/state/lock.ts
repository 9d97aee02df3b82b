// One agent per state folder: an exclusive SQLite lock on STATE/agent.lock, held while agent.db is open for
// writing and released by the operating system however the process ends (shared/src/folder-lock.ts, as the fleet
// server's data folder). Readers (`iot-agent status`) open agent.db only, so they never wait.
import { join } from 'node:path';
import { tryLockFile, type FolderLock } from '../../../shared/src/folder-lock.js';
import { AgentError } from '../errors.js';

export const STATE_LOCK_FILE = 'agent.lock';

export type StateLock = FolderLock;

/** Takes the state folder's lock (the folder must exist); throws AGENT_STATE_IN_USE when another agent holds it. */
export function lockStateDir(stateDir: string): StateLock {
  const lock = tryLockFile(join(stateDir, STATE_LOCK_FILE));
  if (!lock) {
    throw new AgentError(
      'AGENT_STATE_IN_USE',
      `another agent is running on the state folder ${stateDir} (iot-agent status shows it); stop it first, or ` +
        'give each agent its own stateDir',
    );
  }
  return lock;
}
