// WAL checkpoints by time as well as by size, for the connection that checkpoints (the ingest thread's): the WAL
// never holds more than a few seconds of writes beyond its size trigger, and an idle server empties it.
import { statSync } from 'node:fs';
import { BUSY_TIMEOUT_MS, type Db } from './open.js';

export interface CheckpointPolicy {
  /** After a commit, a PASSIVE checkpoint when the last checkpoint is this old (ms). */
  readonly everyMs: number;
  /** With no commit for this long (ms), a TRUNCATE checkpoint copies the WAL and cuts the file to 0 bytes. */
  readonly idleMs: number;
  /** After a failed checkpoint (a full disk), how long to wait before the next try (ms). */
  readonly retryMs: number;
}

export const DEFAULT_CHECKPOINTS: CheckpointPolicy = { everyMs: 30_000, idleMs: 5_000, retryMs: 30_000 };

export interface Checkpoints {
  /** After each commit (never per message): checkpoints if the last checkpoint is older than `everyMs`. */
  committed(at: number): void;
  /** From a timer: once no commit came for `idleMs`, empties the WAL. */
  idle(at: number): void;
}

/**
 * Time-based checkpoints on `db`, beside SQLite's size-based wal_autocheckpoint. A failed checkpoint throws (the
 * caller reports it) and the next waits `retryMs`. The idle TRUNCATE does not wait for readers or writers of other
 * connections: if one is busy, the checkpoint copies what it can and the next timer tick tries again.
 */
export function createCheckpoints(db: Db, policy: CheckpointPolicy, start: number): Checkpoints {
  const wal = `${db.name}-wal`;
  let lastCheckpoint = start;
  let lastCommit = start;
  let retryAt = Number.NEGATIVE_INFINITY;
  const walBytes = () => statSync(wal, { throwIfNoEntry: false })?.size ?? 0;
  const checkpoint = (at: number, mode: 'PASSIVE' | 'TRUNCATE') => {
    lastCheckpoint = at;
    try {
      db.pragma(`wal_checkpoint(${mode})`);
    } catch (err) {
      retryAt = at + policy.retryMs;
      throw err;
    }
  };
  return {
    committed(at) {
      lastCommit = at;
      if (at - lastCheckpoint >= policy.everyMs && at >= retryAt) checkpoint(at, 'PASSIVE');
    },
    idle(at) {
      if (at - lastCommit < policy.idleMs || at < retryAt || walBytes() === 0) return;
      db.pragma('busy_timeout = 0');
      try {
        checkpoint(at, 'TRUNCATE');
      } finally {
        db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
    },
  };
}
