// Agent state: the one agent.db in the state folder, holding the outbox and the replay store (or both in
// memory for simulated devices). The public face.
import { createMemoryOutbox, createSqliteOutbox, type OutboxOptions, type OutboxStore } from '../outbox/index.js';
import {
  createMemoryReplayStore,
  createSqliteReplayStore,
  type ReplayOptions,
  type ReplayStore,
} from '../replay/index.js';
import type { StorageKey } from '../../../shared/src/index.js';
import { closeStateDb, openStateDb } from './db.js';

export interface AgentState {
  readonly outbox: OutboxStore;
  readonly replay: ReplayStore;
  /** Checkpoints and closes the database (both stores). */
  close(): void;
}

export type StateOptions = OutboxOptions &
  ReplayOptions & {
    /** Encrypts agent.db at rest (config storage.key, agentStorageKey). */
    readonly storageKey?: StorageKey | undefined;
  };

export function openAgentState(stateDir: string, opts: StateOptions): AgentState {
  const db = openStateDb(stateDir, opts.storageKey);
  return {
    outbox: createSqliteOutbox(db, opts),
    replay: createSqliteReplayStore(db, opts),
    close: () => closeStateDb(db),
  };
}

export function createMemoryState(opts: StateOptions): AgentState {
  const outbox = createMemoryOutbox(opts);
  const replay = createMemoryReplayStore(opts);
  return { outbox, replay, close: () => (outbox.close(), replay.close()) };
}

export { openStateDb, closeStateDb, STATE_DB_FILE, type StateDb } from './db.js';
export { agentStorageKey } from './storage-key.js';
export { LATEST_VERSION as STATE_SCHEMA_VERSION } from './migrations.js';
export {
  createRuntimeRecorder,
  processIdentity,
  isAlive,
  parseRuntime,
  RUNTIME_KEY,
  type RuntimeRecord,
  type RuntimeRecorder,
} from './runtime.js';
export { readAgentStatus, type AgentStatusReport } from './read-status.js';
