// The simulator's server view read straight from a fleet's database instead of its operator API: PostgreSQL for a
// cluster (whose API reads each node's own folder, not the shared store: docs/cluster.md), a SQLite fleet.db for a
// single node. It counts the rows of each device's stream up to its cutoff (each at most once by the tables' UNIQUE
// key, which the count checks too) and the end-to-end latency (received_at − device_ts) of the measured window.
import Database from 'better-sqlite3';
import pg from 'pg';
import type { DeviceFinal } from '../../simulator/src/device-pool.js';
import type { ServerView } from '../../simulator/src/index.js';
import { createHistogram } from '../../simulator/src/metrics.js';

export interface StoredView extends ServerView {
  /** Rows beyond the first of a (device, stream, seq) in the last `stored` count: 0 when each sample is stored once. */
  duplicates(): number;
  /** Samples up to the cutoffs still waiting for their PUBACK in the devices at the last `stored` (unacknowledged). */
  waiting(): number;
}

interface Rows {
  /** Rows of each device's stream up to its cutoff, and how many distinct samples they are. */
  count(devices: readonly DeviceFinal[]): Promise<{ rows: number; distinct: number }>;
  /** received_at − device_ts of the rows in each device's measured window (windowStart < seq ≤ cutoff). */
  latencies(devices: readonly DeviceFinal[]): Promise<number[]>;
  close(): Promise<void>;
}

function viewOf(rows: Rows): StoredView {
  let duplicates = 0;
  let waiting = 0;
  return {
    async stored(devices, _since, phases = []) {
      waiting = devices.reduce((n, d) => n + d.pending, 0);
      const { rows: n, distinct } = await rows.count(devices);
      duplicates = n - distinct;
      const latency = createHistogram();
      for (const ms of await rows.latencies(devices)) latency.record(ms);
      return { stored: distinct, latency, phases: new Map(phases.map((p) => [p.name, createHistogram()])) };
    },
    exposureStored: async () => 0,
    audited: async () => ({}),
    acks: async () => [],
    commandStatus: async () => undefined,
    close: () => void rows.close(),
    duplicates: () => duplicates,
    waiting: () => waiting,
  };
}

const WITH_DEVICES =
  'WITH d AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS d(id, stream, ws, cutoff)) ';
const JOIN = 'FROM telemetry t JOIN d ON t.device_id = d.id AND t.stream = d.stream AND t.seq <= d.cutoff';
const columns = (devices: readonly DeviceFinal[]) => [
  devices.map((d) => d.id),
  devices.map((d) => d.stream),
  devices.map((d) => d.windowStart),
  devices.map((d) => d.cutoff),
];

/** The cluster's shared store. */
export function pgStoredView(url: string): StoredView {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {});
  return viewOf({
    async count(devices) {
      const r = await pool.query<{ rows: string; distinct: string }>(
        `${WITH_DEVICES}SELECT count(*) AS rows, count(DISTINCT (t.device_id, t.stream, t.seq)) AS distinct ${JOIN}`,
        columns(devices),
      );
      return { rows: Number(r.rows[0]!.rows), distinct: Number(r.rows[0]!.distinct) };
    },
    async latencies(devices) {
      const r = await pool.query<{ ms: string }>(
        `${WITH_DEVICES}SELECT t.received_at - t.device_ts AS ms ${JOIN} WHERE t.seq > d.ws`,
        columns(devices),
      );
      return r.rows.map((x) => Number(x.ms));
    },
    close: () => pool.end(),
  });
}

/** A single node's fleet.db, opened read-only while the node runs (WAL). */
export function sqliteStoredView(dbFile: string): StoredView {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  const count = db.prepare<[string, string, number], { n: number }>(
    'SELECT count(*) AS n FROM telemetry WHERE device_id = ? AND stream = ? AND seq <= ?',
  );
  const window = db
    .prepare<[string, string, number, number]>(
      'SELECT received_at - device_ts FROM telemetry WHERE device_id = ? AND stream = ? AND seq > ? AND seq <= ?',
    )
    .pluck();
  return viewOf({
    async count(devices) {
      // The table's primary key is (device_id, stream, seq): a row count is a count of distinct samples.
      const rows = devices.reduce((n, d) => n + count.get(d.id, d.stream, d.cutoff)!.n, 0);
      return { rows, distinct: rows };
    },
    async latencies(devices) {
      return devices.flatMap((d) => window.all(d.id, d.stream, d.windowStart, d.cutoff) as number[]);
    },
    async close() {
      db.close();
    },
  });
}
