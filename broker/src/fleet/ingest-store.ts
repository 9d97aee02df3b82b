// What ingest writes, and how a device message is judged before it is written. Used on the server's main
// thread (createIngest without a thread) and in the ingest thread (ingest-thread.ts), on their own connections.
import type { Channel, DecodedMessage } from '../../../shared/src/index.js';
import { decodeDeviceMessage, EdgewardError, ProtocolError } from '../../../shared/src/index.js';
import { createCommandStore } from '../db/commands.js';
import { createExposureStore } from '../db/exposure.js';
import type { Db } from '../db/open.js';
import { DUPLICATE, type MessageResult, REJECTED } from './ingest-result.js';

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
}

/** New sample keys are written into telemetry_keys once this many wait, or once the oldest is this old. */
const KEY_PASS_SAMPLES = 8192;
const KEY_PASS_MS = 250;

/**
 * Which samples are stored, by key (device, stream, seq). The keys of rows up to telemetry_keyed.through_id are in
 * telemetry_keys; those of newer rows are written there in one pass every few hundred milliseconds, inside a
 * batch's transaction (a unique index written with every commit cost one index page per device and commit).
 *
 * A sample above the highest seq stored for its stream is new, which needs no lookup: that is every sample but a
 * resend. A resend is looked up in telemetry_keys and among the rows not keyed yet, which are then loaded into a
 * set until the next pass. This store must be the only writer of telemetry while it is open (it is: the ingest
 * thread, or its fallback on the main thread).
 */
function createSampleKeys(db: Db) {
  const keyed = db.prepare('SELECT 1 FROM telemetry_keys WHERE device_id = ? AND stream = ? AND seq = ?').pluck();
  const unkeyedRows = db.prepare('SELECT device_id, stream, seq FROM telemetry WHERE id > ?').raw();
  const countUnkeyed = db.prepare('SELECT count(*) FROM telemetry WHERE id > ?').pluck();
  const keyedMax = db.prepare('SELECT max(seq) FROM telemetry_keys WHERE device_id = ? AND stream = ?').pluck();
  const unkeyedMax = db
    .prepare('SELECT device_id, stream, max(seq) FROM telemetry WHERE id > ? GROUP BY device_id, stream')
    .raw();
  const lastId = db.prepare('SELECT coalesce(max(id), 0) FROM telemetry').pluck();
  const copyKeys = db.prepare(
    'INSERT OR IGNORE INTO telemetry_keys (device_id, stream, seq, row_id) SELECT device_id, stream, seq, id ' +
      'FROM telemetry WHERE id > ?',
  );
  const setThrough = db.prepare('UPDATE telemetry_keyed SET through_id = ?');
  const key = (deviceId: string, stream: string, seq: number) => `${deviceId}\u0000${stream}\u0000${seq}`;

  let through = db.prepare('SELECT through_id FROM telemetry_keyed').pluck().get() as number;
  if ((lastId.get() as number) < through) {
    // The newest rows were deleted by hand: their ids will be used again, by rows not keyed yet.
    through = lastId.get() as number;
    setThrough.run(through);
  }
  let unkeyed = countUnkeyed.get(through) as number;
  // Rows left unkeyed by the previous store (a restart): their keys are written by the first transaction.
  let oldestAt: number | undefined = unkeyed > 0 ? Number.NEGATIVE_INFINITY : undefined;
  /** The highest seq stored per stream (device NUL stream), loaded on first sight. */
  const highest = new Map<string, number>();
  /** The highest seq per stream among the rows not keyed yet, as the database has them now. */
  const loadUnkeyedMax = () =>
    new Map((unkeyedMax.all(through) as [string, string, number][]).map(([d, st, q]) => [`${d}\u0000${st}`, q]));
  let unkeyedMaxAtLoad = loadUnkeyedMax();
  /** The keys of the rows after `through`, loaded by the first resend after a pass. */
  let recent: Set<string> | undefined;
  /** Samples the transaction in progress stored, and the row id a pass in it keyed through. */
  let added = 0;
  let passedTo: number | undefined;

  const highestOf = (streamKey: string, deviceId: string, stream: string): number => {
    let h = highest.get(streamKey);
    if (h === undefined) {
      h = Math.max((keyedMax.get(deviceId, stream) as number | null) ?? 0, unkeyedMaxAtLoad.get(streamKey) ?? 0);
      highest.set(streamKey, h);
    }
    return h;
  };

  return {
    /**
     * True when the sample is not stored yet, and from then on counted as stored by the transaction in progress
     * (the caller stores it there; if the transaction rolls back, rolledBack() forgets it).
     */
    claim(deviceId: string, stream: string, seq: number, at: number): boolean {
      const streamKey = `${deviceId}\u0000${stream}`;
      if (seq > highestOf(streamKey, deviceId, stream)) {
        highest.set(streamKey, seq);
        recent?.add(key(deviceId, stream, seq));
      } else {
        if (!recent) {
          recent = new Set();
          for (const [d, st, q] of unkeyedRows.iterate(through) as Iterable<[string, string, number]>)
            recent.add(key(d, st, q));
        }
        const k = key(deviceId, stream, seq);
        if (recent.has(k) || keyed.get(deviceId, stream, seq) !== undefined) return false;
        recent.add(k);
      }
      added++;
      oldestAt ??= at;
      return true;
    },
    /** At the end of each transaction: writes the waiting keys when enough wait or the oldest is old enough. */
    endOfTransaction(at: number): void {
      const waiting = unkeyed + added;
      if (waiting === 0 || (waiting < KEY_PASS_SAMPLES && at - (oldestAt ?? at) < KEY_PASS_MS)) return;
      passedTo = lastId.get() as number;
      copyKeys.run(through);
      setThrough.run(passedTo);
    },
    committed(): void {
      unkeyed += added;
      added = 0;
      if (passedTo === undefined) return;
      through = passedTo;
      passedTo = undefined;
      unkeyed = 0;
      oldestAt = undefined;
      recent = undefined;
      unkeyedMaxAtLoad = new Map();
    },
    /** What this side knew of the rolled-back transaction is dropped; it is loaded again when needed. */
    rolledBack(): void {
      added = 0;
      passedTo = undefined;
      highest.clear();
      unkeyedMaxAtLoad = loadUnkeyedMax();
      recent = undefined;
      if (unkeyed === 0) oldestAt = undefined;
    },
  };
}

export function createIngestStore(db: Db): IngestStore {
  const insertMessage = db.prepare(
    `INSERT OR IGNORE INTO messages (device_id, msg_id, kind, received_at, device_ts) VALUES (?, ?, ?, ?, ?)`,
  );
  const insertSample = db.prepare(
    `INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const samples = createSampleKeys(db);
  // `dropped` is the agent's cumulative count of samples its full outbox discarded: keep the highest seen.
  const bumpTelemetry = db.prepare(
    `UPDATE devices SET telemetry_count = telemetry_count + ?, last_seen = ?, dropped = max(dropped, ?) WHERE id = ?`,
  );
  const insertStatus = db.prepare(
    `INSERT INTO status_history (device_id, state, device_ts, received_at, agent_version) VALUES (?, ?, ?, ?, ?)`,
  );
  const updateVersions = db.prepare(
    `UPDATE devices SET agent_version = ?, firmware_version = coalesce(?, firmware_version), ` +
      `last_seen = ? WHERE id = ?`,
  );
  // One row per device, code and minute (migration 8): a device sending garbage cannot fill the disk with rows.
  const recordReject = db.prepare(
    `INSERT INTO ingest_rejects (device_id, minute, code, count, at, last_at, topic, message, size) ` +
      `VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT (device_id, minute, code) DO UPDATE SET count = count + 1, ` +
      `last_at = excluded.last_at, topic = excluded.topic, message = excluded.message, size = excluded.size`,
  );
  const bumpRejected = db.prepare(`UPDATE devices SET rejected_count = rejected_count + 1 WHERE id = ?`);
  const commands = createCommandStore(db);
  const exposure = createExposureStore(db);

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
          item.receivedAt,
          deviceId,
        );
        return 0;
      case 'cmd/ack':
        commands.applyAck(deviceId, decoded.message, item.receivedAt);
        return 0;
      case 'exposure':
        exposure.add(deviceId, decoded.message, item.receivedAt);
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
  };
}
