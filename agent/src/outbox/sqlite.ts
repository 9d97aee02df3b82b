// The outbox on SQLite (WAL, synchronous=FULL): a sample is on disk before it is sent, and gone only once acknowledged.
import { randomBytes } from 'node:crypto';
import type { DevicePublishChannel, TelemetrySample } from '../../../shared/src/index.js';
import { closeStateDb, openStateDb, type StateDb } from '../state/db.js';
import {
  DROP_REASONS,
  type DropReason,
  type OutboxOptions,
  type OutboxStats,
  type OutboxStore,
  type PendingMessage,
  type StoreFailure,
} from './types.js';

export function newStreamId(): string {
  return randomBytes(12).toString('base64url');
}

/** Opens (creating and migrating) agent.db in `stateDir` and returns its outbox; close() closes the file. */
export function openSqliteOutbox(stateDir: string, opts: OutboxOptions): OutboxStore {
  return createSqliteOutbox(openStateDb(stateDir), opts);
}

/** The kv key of a drop counter (migration 3 renamed the old 'dropped' to 'dropped:outbox-full'). */
export const dropKey = (reason: DropReason) => `dropped:${reason}`;

export function createSqliteOutbox(db: StateDb, opts: OutboxOptions): OutboxStore {
  const maxMessages = opts.maxMessages ?? 1000;
  const getKv = db.prepare('SELECT value FROM kv WHERE key = ?').pluck();
  const setKv = db.prepare(
    'INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  );
  const insertSample = db.prepare('INSERT INTO samples (seq, ts, metrics) VALUES (?, ?, ?)');
  const countSamples = db.prepare('SELECT count(*) FROM samples').pluck();
  const dropOldestSamples = db.prepare(
    'DELETE FROM samples WHERE seq IN (SELECT seq FROM samples ORDER BY seq LIMIT ?)',
  );
  const insertMessage = db.prepare('INSERT INTO messages (channel, payload) VALUES (?, ?)');
  const countMessages = db.prepare('SELECT count(*) FROM messages').pluck();
  const dropOldestMessages = db.prepare(
    'DELETE FROM messages WHERE id IN (SELECT id FROM messages ORDER BY id LIMIT ?)',
  );
  const samplesAfter = db.prepare('SELECT seq, ts, metrics FROM samples WHERE seq > ? ORDER BY seq LIMIT ?');
  const messagesAfter = db.prepare('SELECT id, channel, payload FROM messages WHERE id > ? ORDER BY id LIMIT ?');
  const deleteSamples = db.prepare('DELETE FROM samples WHERE seq BETWEEN ? AND ?');
  const deleteMessage = db.prepare('DELETE FROM messages WHERE id = ?');

  const num = (key: string) => Number((getKv.get(key) as string | undefined) ?? 0);
  let stream = getKv.get('stream') as string | undefined;
  if (!stream) {
    stream = newStreamId();
    setKv.run('stream', stream);
  }
  // Copies of the counters in kv and of the row counts, so stats() needs no query. Each is changed only after
  // the transaction that wrote it has committed: a failed COMMIT (a full disk) leaves memory equal to the file.
  let lastSeq = num('last_seq');
  let lastAcked = num('last_acked_seq');
  let acknowledged = num('acked');
  const droppedBy = Object.fromEntries(DROP_REASONS.map((r) => [r, num(dropKey(r))])) as Record<DropReason, number>;
  let samples = countSamples.get() as number;
  let messages = countMessages.get() as number;
  // Samples that could not be stored, counted but not written yet: written by the next transaction that commits.
  const unwritten: Record<StoreFailure, number> = { 'disk-full': 0, 'write-failed': 0 };

  /** Inside a transaction: writes the pending drop counts; returns what to add to droppedBy once it commits. */
  const writeUnwritten = (): Partial<Record<StoreFailure, number>> => {
    const written: Partial<Record<StoreFailure, number>> = {};
    for (const reason of ['disk-full', 'write-failed'] as const) {
      const n = unwritten[reason];
      if (n === 0) continue;
      setKv.run(dropKey(reason), String(droppedBy[reason] + n));
      written[reason] = n;
    }
    return written;
  };
  const committed = (written: Partial<Record<StoreFailure, number>>) => {
    for (const [reason, n] of Object.entries(written) as [StoreFailure, number][]) {
      droppedBy[reason] += n;
      unwritten[reason] -= n;
    }
  };

  const addSample = db.transaction((ts: number, metrics: string) => {
    // The number comes from the file, in the transaction that stores the row: it is used only if both commit.
    const seq = num('last_seq') + 1;
    insertSample.run(seq, ts, metrics);
    setKv.run('last_seq', String(seq));
    let removed = 0;
    if (samples + 1 > opts.maxSamples) {
      removed = dropOldestSamples.run(samples + 1 - opts.maxSamples).changes;
      setKv.run(dropKey('outbox-full'), String(droppedBy['outbox-full'] + removed));
    }
    return { seq, removed, written: writeUnwritten() };
  });

  const writeDrops = db.transaction(writeUnwritten);

  const addMessage = db.transaction((channel: string, payload: Uint8Array) => {
    const id = Number(insertMessage.run(channel, payload).lastInsertRowid);
    const removed = messages + 1 > maxMessages ? dropOldestMessages.run(messages + 1 - maxMessages).changes : 0;
    return { id, removed };
  });

  const ackSamples = db.transaction((first: number, last: number) => {
    const deleted = deleteSamples.run(first, last).changes;
    if (deleted > 0) setKv.run('acked', String(acknowledged + deleted));
    if (last > lastAcked) setKv.run('last_acked_seq', String(last));
    return deleted;
  });

  return {
    stream,
    addSample(ts, metrics) {
      const r = addSample(ts, JSON.stringify(metrics));
      lastSeq = r.seq;
      samples += 1 - r.removed;
      droppedBy['outbox-full'] += r.removed;
      committed(r.written);
      return r.seq;
    },
    recordDropped(reason) {
      unwritten[reason]++;
      try {
        committed(writeDrops());
      } catch {
        // The disk is still full (or failing): the count stays in memory until a transaction commits.
      }
    },
    addMessage(channel, payload) {
      const r = addMessage(channel, payload);
      messages += 1 - r.removed;
      return r.id;
    },
    samplesAfter(after, max) {
      return (samplesAfter.all(after, max) as { seq: number; ts: number; metrics: string }[]).map((r) => ({
        seq: r.seq,
        ts: r.ts,
        m: JSON.parse(r.metrics) as Record<string, number>,
      }));
    },
    messagesAfter(after, max) {
      return (messagesAfter.all(after, max) as { id: number; channel: string; payload: Buffer }[]).map((r) => ({
        id: r.id,
        channel: r.channel as DevicePublishChannel,
        payload: r.payload,
      })) satisfies PendingMessage[];
    },
    ackSamples(first, last) {
      const deleted = ackSamples(first, last);
      samples -= deleted;
      acknowledged += deleted;
      if (last > lastAcked) lastAcked = last;
    },
    ackMessage(id) {
      messages -= deleteMessage.run(id).changes;
    },
    getState: (key) => getKv.get(`state:${key}`) as string | undefined,
    setState: (key, value) => void setKv.run(`state:${key}`, value),
    stats(): OutboxStats {
      const by = {
        'outbox-full': droppedBy['outbox-full'],
        'disk-full': droppedBy['disk-full'] + unwritten['disk-full'],
        'write-failed': droppedBy['write-failed'] + unwritten['write-failed'],
      };
      return {
        outboxDepth: samples + messages,
        samples,
        messages,
        lastSequence: lastSeq,
        lastAckedSequence: lastAcked,
        acknowledged,
        dropped: by['outbox-full'] + by['disk-full'] + by['write-failed'],
        droppedBy: by,
        stream: stream!,
      };
    },
    close() {
      closeStateDb(db);
    },
  };
}

export type { TelemetrySample };
