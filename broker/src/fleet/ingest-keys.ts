// Which telemetry samples are stored, by key (device, stream, seq): ingest's idempotency for telemetry, on the
// connection of the ingest store (ingest-store.ts), which must be the only writer of telemetry while it is open.
import type { Db } from '../db/open.js';

/** New sample keys are written into telemetry_keys once this many wait, or once the oldest is this old. */
const KEY_PASS_SAMPLES = 8192;
const KEY_PASS_MS = 250;

/** A telemetry row that retention deletes. */
export interface PrunedRow {
  readonly id: number;
  readonly deviceId: string;
  readonly stream: string;
  readonly seq: number;
}

export type SampleKeys = ReturnType<typeof createSampleKeys>;

/**
 * The keys of rows up to telemetry_keyed.through_id are in telemetry_keys; those of newer rows are written there in
 * one pass every few hundred milliseconds, inside a batch's transaction (a unique index written with every commit
 * cost one index page per device and commit).
 *
 * A sample above the highest seq stored for its stream is new, which needs no lookup: that is every sample but a
 * resend. A resend is looked up in telemetry_keys and among the rows not keyed yet, which are then loaded into a
 * set until the next pass.
 *
 * Retention deletes a row's key with the row, and raises its stream's floor (telemetry_pruned) to the highest seq it
 * deleted: a sample at or below the floor counts as stored. A stream's seqs only grow (protocol.md), so such a
 * sample was stored once and pruned, or is older than samples already pruned; storing it again would bring back
 * what retention removed.
 */
export function createSampleKeys(db: Db) {
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
  const floorOfStream = db
    .prepare('SELECT through_seq FROM telemetry_pruned WHERE device_id = ? AND stream = ?')
    .pluck();
  const deleteKey = db.prepare('DELETE FROM telemetry_keys WHERE device_id = ? AND stream = ? AND seq = ?');
  const raiseFloor = db.prepare(
    'INSERT INTO telemetry_pruned (device_id, stream, through_seq, pruned_at) VALUES (?, ?, ?, ?) ' +
      'ON CONFLICT (device_id, stream) DO UPDATE SET through_seq = max(through_seq, excluded.through_seq), ' +
      'pruned_at = excluded.pruned_at',
  );
  const key = (deviceId: string, stream: string, seq: number) => `${deviceId}\u0000${stream}\u0000${seq}`;

  let through = db.prepare('SELECT through_id FROM telemetry_keyed').pluck().get() as number;
  if ((lastId.get() as number) < through) {
    // The newest rows were deleted by hand: their ids will be used again, by rows not keyed yet. (Retention never
    // deletes the newest row, so that ids are never used again.)
    through = lastId.get() as number;
    setThrough.run(through);
  }
  let unkeyed = countUnkeyed.get(through) as number;
  // Rows left unkeyed by the previous store (a restart): their keys are written by the first transaction.
  let oldestAt: number | undefined = unkeyed > 0 ? Number.NEGATIVE_INFINITY : undefined;
  /** The highest seq stored per stream (device NUL stream), loaded on first sight. */
  const highest = new Map<string, number>();
  /** Each stream's floor (telemetry_pruned), loaded on first sight; 0 where nothing was pruned. */
  const floors = new Map<string, number>();
  /** The highest seq per stream among the rows not keyed yet, as the database has them now. */
  const loadUnkeyedMax = () =>
    new Map((unkeyedMax.all(through) as [string, string, number][]).map(([d, st, q]) => [`${d}\u0000${st}`, q]));
  let unkeyedMaxAtLoad = loadUnkeyedMax();
  /** The keys of the rows after `through`, loaded by the first resend after a pass. */
  let recent: Set<string> | undefined;
  /** Samples the transaction in progress stored, and the row id a pass in it keyed through. */
  let added = 0;
  let passedTo: number | undefined;
  /** Floors a retention pass in progress raised, and the unkeyed rows it deleted. */
  let raised: Map<string, number> | undefined;
  let prunedUnkeyed = 0;

  const floorOf = (streamKey: string, deviceId: string, stream: string): number => {
    let f = floors.get(streamKey);
    if (f === undefined) {
      f = (floorOfStream.get(deviceId, stream) as number | undefined) ?? 0;
      floors.set(streamKey, f);
    }
    return f;
  };

  const highestOf = (streamKey: string, deviceId: string, stream: string): number => {
    let h = highest.get(streamKey);
    if (h === undefined) {
      h = Math.max(
        (keyedMax.get(deviceId, stream) as number | null) ?? 0,
        unkeyedMaxAtLoad.get(streamKey) ?? 0,
        floorOf(streamKey, deviceId, stream),
      );
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
        if (seq <= floorOf(streamKey, deviceId, stream)) return false;
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
    /** At the end of each batch's transaction: writes the waiting keys when enough wait or the oldest is old enough. */
    endOfTransaction(at: number): void {
      const waiting = unkeyed + added;
      if (waiting === 0 || (waiting < KEY_PASS_SAMPLES && at - (oldestAt ?? at) < KEY_PASS_MS)) return;
      passedTo = lastId.get() as number;
      copyKeys.run(through);
      setThrough.run(passedTo);
    },
    /**
     * In retention's transaction, which deletes `rows` (never the newest row of the table): deletes their keys and
     * raises their streams' floors.
     */
    forget(rows: readonly PrunedRow[], at: number): void {
      const tops = new Map<string, { deviceId: string; stream: string; seq: number }>();
      for (const r of rows) {
        if (r.id <= through) deleteKey.run(r.deviceId, r.stream, r.seq);
        else prunedUnkeyed++;
        const streamKey = `${r.deviceId}\u0000${r.stream}`;
        const top = tops.get(streamKey);
        if (!top) tops.set(streamKey, { deviceId: r.deviceId, stream: r.stream, seq: r.seq });
        else if (r.seq > top.seq) top.seq = r.seq;
      }
      raised ??= new Map();
      for (const [streamKey, t] of tops) {
        raiseFloor.run(t.deviceId, t.stream, t.seq, at);
        raised.set(streamKey, Math.max(raised.get(streamKey) ?? 0, t.seq));
      }
    },
    committed(): void {
      if (raised) {
        // A floor only rises; a stream not loaded yet reads its floor from the table when first seen.
        for (const [streamKey, seq] of raised) {
          const f = floors.get(streamKey);
          if (f !== undefined) floors.set(streamKey, Math.max(f, seq));
        }
        raised = undefined;
        unkeyed = Math.max(0, unkeyed - prunedUnkeyed);
        prunedUnkeyed = 0;
      }
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
      raised = undefined;
      prunedUnkeyed = 0;
      highest.clear();
      unkeyedMaxAtLoad = loadUnkeyedMax();
      recent = undefined;
      if (unkeyed === 0) oldestAt = undefined;
    },
  };
}
