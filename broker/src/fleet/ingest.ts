// Ingest: validates device messages and stores them in batched transactions. A message is acknowledged
// (PUBACK) only after its transaction commits, so an acknowledged sample is a stored sample.
import type { Channel, DecodedMessage, Logger } from '../../../shared/src/index.js';
import { decodeDeviceMessage, EdgewardError, ProtocolError } from '../../../shared/src/index.js';
import { createCommandStore } from '../db/commands.js';
import { createExposureStore } from '../db/exposure.js';
import type { Db } from '../db/open.js';

export type Done = (err?: Error | null) => void;

export interface IngestStats {
  /** Messages waiting for the next commit, and how long the oldest has waited (ms). */
  queued: number;
  oldestQueuedMs: number;
  messages: number;
  samples: number;
  duplicates: number;
  rejected: number;
  batches: number;
  /** Largest time a message waited between arrival and commit, since the last read (ms). */
  maxLagMs: number;
}

export type StoredEvent = DecodedMessage & {
  readonly deviceId: string;
  readonly receivedAt: number;
  readonly storedAt: number;
  /** Samples newly stored (0 for a duplicate). */
  readonly inserted: number;
};

export interface IngestOptions {
  readonly log: Logger;
  readonly now?: () => number;
  readonly maxBatch?: number;
  /** Called after each commit for every message it stored (latency measurement, live views). */
  readonly onStored?: (e: StoredEvent) => void;
  readonly onRejected?: (deviceId: string, code: string) => void;
}

type Item =
  | { kind: 'message'; deviceId: string; decoded: DecodedMessage; receivedAt: number; done: Done }
  | { kind: 'reject'; deviceId: string; topic: string; code: string; message: string; size: number; receivedAt: number; done: Done };

export type Ingest = ReturnType<typeof createIngest>;

export function createIngest(db: Db, opts: IngestOptions) {
  const now = opts.now ?? Date.now;
  const maxBatch = opts.maxBatch ?? 1000;
  const stats: IngestStats = { queued: 0, oldestQueuedMs: 0, messages: 0, samples: 0, duplicates: 0, rejected: 0, batches: 0, maxLagMs: 0 };
  let queue: Item[] = [];
  let scheduled = false;
  let closed = false;

  const insertMessage = db.prepare(`INSERT OR IGNORE INTO messages (device_id, msg_id, kind, received_at, device_ts) VALUES (?, ?, ?, ?, ?)`);
  const insertSample = db.prepare(`INSERT OR IGNORE INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) VALUES (?, ?, ?, ?, ?, ?)`);
  // `dropped` is the agent's cumulative count of samples its full outbox discarded: keep the highest seen.
  const bumpTelemetry = db.prepare(`UPDATE devices SET telemetry_count = telemetry_count + ?, last_seen = ?, dropped = max(dropped, ?) WHERE id = ?`);
  const insertStatus = db.prepare(`INSERT INTO status_history (device_id, state, device_ts, received_at, agent_version) VALUES (?, ?, ?, ?, ?)`);
  const updateVersions = db.prepare(`UPDATE devices SET agent_version = ?, firmware_version = coalesce(?, firmware_version), last_seen = ? WHERE id = ?`);
  const insertReject = db.prepare(`INSERT INTO ingest_rejects (at, device_id, topic, code, message, size) VALUES (?, ?, ?, ?, ?, ?)`);
  const bumpRejected = db.prepare(`UPDATE devices SET rejected_count = rejected_count + 1 WHERE id = ?`);
  const commands = createCommandStore(db);
  const exposure = createExposureStore(db);

  /** Samples stored per device in the current batch, applied once per device at the end of the batch. */
  const counts = new Map<string, { samples: number; lastSeen: number; dropped: number }>();

  /** Writes one item; returns the samples inserted (or -1 for a duplicate message). */
  function write(item: Item, at: number): number {
    if (item.kind === 'reject') {
      insertReject.run(at, item.deviceId, item.topic, item.code, item.message.slice(0, 500), item.size);
      bumpRejected.run(item.deviceId);
      return 0;
    }
    const { deviceId, decoded } = item;
    if (decoded.kind === 'telemetry') {
      // Telemetry is idempotent per sample on (device, stream, seq) — stronger than per message id, and one
      // insert cheaper: a resend of the same samples under a new message id is caught too.
      let inserted = 0;
      for (const s of decoded.message.samples) {
        inserted += insertSample.run(deviceId, decoded.message.stream, s.seq, s.ts, item.receivedAt, JSON.stringify(s.m)).changes;
      }
      if (inserted === 0) return -1;
      const dropped = decoded.message.dropped ?? 0;
      const c = counts.get(deviceId);
      if (c) {
        c.samples += inserted;
        c.lastSeen = item.receivedAt;
        c.dropped = Math.max(c.dropped, dropped);
      } else counts.set(deviceId, { samples: inserted, lastSeen: item.receivedAt, dropped });
      return inserted;
    }
    const m = decoded.message;
    if (insertMessage.run(deviceId, m.id, decoded.kind, item.receivedAt, m.ts).changes === 0) return -1;
    switch (decoded.kind) {
      case 'status':
        insertStatus.run(deviceId, decoded.message.state, decoded.message.ts, item.receivedAt, decoded.message.agentVersion);
        updateVersions.run(decoded.message.agentVersion, decoded.message.firmwareVersion ?? null, item.receivedAt, deviceId);
        return 0;
      case 'cmd/ack':
        commands.applyAck(deviceId, decoded.message, item.receivedAt);
        return 0;
      case 'exposure':
        exposure.add(deviceId, decoded.message, item.receivedAt);
        return 0;
    }
  }

  const writeBatch = db.transaction((batch: Item[], at: number) => {
    counts.clear();
    const results = batch.map((item) => write(item, at));
    for (const [deviceId, c] of counts) bumpTelemetry.run(c.samples, c.lastSeen, c.dropped, deviceId);
    return results;
  });

  function flush(): void {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    const at = now();
    let results: number[];
    try {
      results = writeBatch.immediate(batch, at);
    } catch (err) {
      // Nothing of the batch is stored, nothing is acknowledged: devices keep the messages and resend.
      opts.log.error('ingest batch failed; messages not acknowledged', { error: err as Error, size: batch.length });
      for (const item of batch) item.done(err as Error);
      return;
    }
    const storedAt = now();
    stats.batches++;
    batch.forEach((item, i) => {
      stats.maxLagMs = Math.max(stats.maxLagMs, storedAt - item.receivedAt);
      if (item.kind === 'message') {
        const inserted = results[i]!;
        if (inserted < 0) stats.duplicates++;
        else {
          stats.messages++;
          stats.samples += inserted;
        }
        opts.onStored?.({ ...item.decoded, deviceId: item.deviceId, receivedAt: item.receivedAt, storedAt, inserted: Math.max(0, inserted) });
      }
      item.done();
    });
  }

  function enqueue(item: Item): void {
    if (closed) {
      item.done(new Error('ingest is closed'));
      return;
    }
    queue.push(item);
    if (queue.length >= maxBatch) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  }

  return {
    /**
     * Decodes and queues a device message. `done` is called after the commit (→ PUBACK), or at once for
     * a payload that fails validation: that one is acknowledged but never stored, so one poison message
     * cannot make a device resend forever; it is counted, logged and kept in ingest_rejects.
     */
    submit(deviceId: string, channel: Channel, topic: string, payload: Buffer, done: Done): void {
      const receivedAt = now();
      let decoded: DecodedMessage;
      try {
        decoded = decodeDeviceMessage(channel, payload);
        if (decoded.kind === 'exposure' && decoded.message.deviceId !== deviceId) {
          throw new ProtocolError('PROTO_INVALID_MESSAGE', `exposure report names device ${decoded.message.deviceId}, but ${deviceId} sent it`);
        }
      } catch (err) {
        const code = err instanceof EdgewardError ? err.code : 'INTERNAL';
        const message = (err as Error).message;
        stats.rejected++;
        opts.log.warn('rejected device message', { deviceId, topic, code, reason: message.slice(0, 300), size: payload.length });
        opts.onRejected?.(deviceId, code);
        enqueue({ kind: 'reject', deviceId, topic, code, message, size: payload.length, receivedAt, done });
        return;
      }
      enqueue({ kind: 'message', deviceId, decoded, receivedAt, done });
    },

    /** Totals since start; maxLagMs is the largest arrival-to-commit time since the previous call. */
    stats(): IngestStats {
      const s = { ...stats, queued: queue.length, oldestQueuedMs: queue.length ? now() - queue[0]!.receivedAt : 0 };
      stats.maxLagMs = 0;
      return s;
    },

    /** Writes what is queued and refuses new work. */
    close(): void {
      flush();
      closed = true;
    },
  };
}
