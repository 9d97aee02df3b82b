// The outbox on SQLite (WAL, synchronous=FULL): a sample is on disk before it is sent, and gone only once acknowledged.
import { randomBytes } from 'node:crypto';
import type { DevicePublishChannel, TelemetrySample } from '../../../shared/src/index.js';
import { closeStateDb, openStateDb, type StateDb } from '../state/db.js';
import type { OutboxOptions, OutboxStats, OutboxStore, PendingMessage } from './types.js';

export function newStreamId(): string {
  return randomBytes(12).toString('base64url');
}

/** Opens (creating and migrating) agent.db in `stateDir` and returns its outbox; close() closes the file. */
export function openSqliteOutbox(stateDir: string, opts: OutboxOptions): OutboxStore {
  return createSqliteOutbox(openStateDb(stateDir), opts);
}

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
  // Counters live in memory and are written in the same transaction as the rows they describe.
  let lastSeq = num('last_seq');
  let lastAcked = num('last_acked_seq');
  let dropped = num('dropped');
  let samples = countSamples.get() as number;
  let messages = countMessages.get() as number;

  const addSample = db.transaction((ts: number, metrics: string) => {
    const seq = lastSeq + 1;
    insertSample.run(seq, ts, metrics);
    setKv.run('last_seq', String(seq));
    samples++;
    if (samples > opts.maxSamples) {
      const n = samples - opts.maxSamples;
      const removed = dropOldestSamples.run(n).changes;
      samples -= removed;
      dropped += removed;
      setKv.run('dropped', String(dropped));
    }
    lastSeq = seq;
    return seq;
  });

  const addMessage = db.transaction((channel: string, payload: Uint8Array) => {
    const id = Number(insertMessage.run(channel, payload).lastInsertRowid);
    messages++;
    if (messages > maxMessages) messages -= dropOldestMessages.run(messages - maxMessages).changes;
    return id;
  });

  const ackSamples = db.transaction((first: number, last: number) => {
    samples -= deleteSamples.run(first, last).changes;
    if (last > lastAcked) {
      lastAcked = last;
      setKv.run('last_acked_seq', String(last));
    }
  });

  return {
    stream,
    addSample: (ts, metrics) => addSample(ts, JSON.stringify(metrics)),
    addMessage: (channel, payload) => addMessage(channel, payload),
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
    ackSamples: (first, last) => ackSamples(first, last),
    ackMessage(id) {
      messages -= deleteMessage.run(id).changes;
    },
    getState: (key) => getKv.get(`state:${key}`) as string | undefined,
    setState: (key, value) => void setKv.run(`state:${key}`, value),
    stats(): OutboxStats {
      return {
        outboxDepth: samples + messages,
        samples,
        messages,
        lastSequence: lastSeq,
        lastAckedSequence: lastAcked,
        dropped,
        stream: stream!,
      };
    },
    close() {
      closeStateDb(db);
    },
  };
}

export type { TelemetrySample };
