// What ingest writes, and how a device message is judged before it is written; and retention, which deletes on the
// same connection. Used on the server's main thread (createIngest without a thread) and in the ingest thread
// (ingest-thread.ts), on their own connections.
import type { Channel, DecodedMessage } from '../../../shared/src/index.js';
import { decodeDeviceMessage, EdgewardError, ProtocolError } from '../../../shared/src/index.js';
import { createCommandStore } from '../db/commands.js';
import { createUpdateStatusStore } from '../db/update-status.js';
import { createExposureStore } from '../db/exposure.js';
import type { Db } from '../db/open.js';
import { createSampleKeys } from './ingest-keys.js';
import { DUPLICATE, type MessageResult, REJECTED } from './ingest-result.js';
import { createPruner, KEEP_EVERYTHING, type Pruned, type Retention } from './ingest-retention.js';

export type StoreItem =
  | {
      readonly kind: 'message';
      readonly deviceId: string;
      readonly decoded: DecodedMessage;
      readonly receivedAt: number;
    }
  | {
      readonly kind: 'reject';
      readonly deviceId: string;
      readonly topic: string;
      readonly code: string;
      readonly message: string;
      readonly size: number;
      readonly receivedAt: number;
    };

export type Judged =
  | { readonly ok: true; readonly decoded: DecodedMessage }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Decodes and validates a device message; a failure is a verdict (code and reason), never a throw. */
export function judgeMessage(deviceId: string, channel: Channel, payload: Uint8Array): Judged {
  try {
    const decoded = decodeDeviceMessage(channel, payload);
    if (decoded.kind === 'exposure' && decoded.message.deviceId !== deviceId) {
      throw new ProtocolError(
        'PROTO_INVALID_MESSAGE',
        `exposure report names device ${decoded.message.deviceId}, but ${deviceId} sent it`,
      );
    }
    return { ok: true, decoded };
  } catch (err) {
    return { ok: false, code: err instanceof EdgewardError ? err.code : 'INTERNAL', message: (err as Error).message };
  }
}

export interface IngestStore {
  /**
   * Writes the items in one transaction (BEGIN IMMEDIATE … COMMIT); returns, per item, the samples newly stored
   * (0 for a stored message of another kind), DUPLICATE, or REJECTED for a reject (recorded). Throws if nothing was
   * stored.
   */
  writeBatch(items: readonly StoreItem[], at: number): MessageResult[];
  /** Whether a retention is set: prune() has work to look for. */
  readonly retains: boolean;
  /**
   * One retention transaction: deletes at most a small batch of what `retention` no longer keeps, as of `now`.
   * Throws when it fails (nothing of it deleted).
   */
  prune(now: number): Pruned;
}

export function createIngestStore(db: Db, retention: Retention = KEEP_EVERYTHING): IngestStore {
  const insertMessage = db.prepare(
    `INSERT OR IGNORE INTO messages (device_id, msg_id, kind, received_at, device_ts) VALUES (?, ?, ?, ?, ?)`,
  );
  const insertSample = db.prepare(
    `INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const samples = createSampleKeys(db);
  const pruner = createPruner(db, retention, samples);
  // `dropped` is the agent's cumulative count of samples its full outbox discarded: keep the highest seen.
  const bumpTelemetry = db.prepare(
    `UPDATE devices SET telemetry_count = telemetry_count + ?, last_seen = ?, dropped = max(dropped, ?) WHERE id = ?`,
  );
  const insertStatus = db.prepare(
    `INSERT INTO status_history (device_id, state, device_ts, received_at, agent_version) VALUES (?, ?, ?, ?, ?)`,
  );
  const updateVersions = db.prepare(
    `UPDATE devices SET agent_version = ?, firmware_version = coalesce(?, firmware_version), ` +
      `hardware = coalesce(?, hardware), last_seen = ? WHERE id = ?`,
  );
  // One row per device, code and minute (migration 10): a device sending garbage cannot fill the disk with rows.
  const recordReject = db.prepare(
    `INSERT INTO ingest_rejects (device_id, minute, code, count, at, last_at, topic, message, size) ` +
      `VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT (device_id, minute, code) DO UPDATE SET count = count + 1, ` +
      `last_at = excluded.last_at, topic = excluded.topic, message = excluded.message, size = excluded.size`,
  );
  const bumpRejected = db.prepare(`UPDATE devices SET rejected_count = rejected_count + 1 WHERE id = ?`);
  const commands = createCommandStore(db);
  const exposure = createExposureStore(db);
  const updates = createUpdateStatusStore(db);

  /** Samples stored per device in the current batch, applied once per device at the end of the batch. */
  const counts = new Map<string, { samples: number; lastSeen: number; dropped: number }>();

  function write(item: StoreItem, at: number): MessageResult {
    if (item.kind === 'reject') {
      const message = item.message.slice(0, 500);
      recordReject.run(item.deviceId, Math.floor(at / 60_000), item.code, at, at, item.topic, message, item.size);
      bumpRejected.run(item.deviceId);
      return REJECTED;
    }
    const { deviceId, decoded } = item;
    if (decoded.kind === 'telemetry') {
      // Telemetry is idempotent per sample on (device, stream, seq) — stronger than per message id, and one
      // insert cheaper: a resend of the same samples under a new message id is caught too.
      let inserted = 0;
      const { stream } = decoded.message;
      for (const s of decoded.message.samples) {
        if (!samples.claim(deviceId, stream, s.seq, at)) continue;
        insertSample.run(deviceId, stream, s.seq, s.ts, item.receivedAt, JSON.stringify(s.m));
        inserted++;
      }
      if (inserted === 0) return DUPLICATE;
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
    if (insertMessage.run(deviceId, m.id, decoded.kind, item.receivedAt, m.ts).changes === 0) return DUPLICATE;
    switch (decoded.kind) {
      case 'status':
        insertStatus.run(
          deviceId,
          decoded.message.state,
          decoded.message.ts,
          item.receivedAt,
          decoded.message.agentVersion,
        );
        updateVersions.run(
          decoded.message.agentVersion,
          decoded.message.firmwareVersion ?? null,
          decoded.message.hardware ?? null,
          item.receivedAt,
          deviceId,
        );
        return 0;
      case 'cmd/ack':
        commands.applyAck(deviceId, decoded.message, item.receivedAt);
        return 0;
      case 'exposure':
        exposure.add(deviceId, decoded.message, item.receivedAt);
        pruner.reportAdded(deviceId);
        return 0;
      case 'update/status':
        updates.apply(deviceId, decoded.message, item.receivedAt);
        return 0;
    }
  }

  const transaction = db.transaction((batch: readonly StoreItem[], at: number) => {
    counts.clear();
    const results = batch.map((item) => write(item, at));
    for (const [deviceId, c] of counts) bumpTelemetry.run(c.samples, c.lastSeen, c.dropped, deviceId);
    samples.endOfTransaction(at);
    return results;
  });

  const pruneTransaction = db.transaction((now: number) => pruner.step(now));
  const synchronous = db.pragma('synchronous', { simple: true }) as number;

  return {
    writeBatch(items, at) {
      try {
        const results = transaction.immediate(items, at);
        samples.committed();
        return results;
      } catch (err) {
        samples.rolledBack();
        throw err;
      }
    },
    retains: pruner.enabled,
    prune(now) {
      // Deleting need not be durable at once: the next batch's commit syncs the WAL, these frames with it, and a
      // deletion lost to a power cut is simply done again. That saves an fsync per retention transaction.
      db.pragma('synchronous = NORMAL');
      try {
        const pruned = pruneTransaction.immediate(now);
        samples.committed();
        pruner.committed();
        return pruned;
      } catch (err) {
        samples.rolledBack();
        pruner.rolledBack();
        throw err;
      } finally {
        db.pragma(`synchronous = ${synchronous}`);
      }
    },
  };
}
