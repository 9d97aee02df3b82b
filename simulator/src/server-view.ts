// What the fleet server itself recorded, read from its database (DATA/fleet.db) on a read-only connection:
// stored samples and their end-to-end latency, exposure reports, command acknowledgements and audit events.
import Database from 'better-sqlite3';
import { fleetPaths } from '../../broker/src/fleet/data-dir.js';
import type { DeviceFinal } from './device-pool.js';
import { createHistogram, type Histogram } from './metrics.js';

export interface Phase {
  readonly name: string;
  /** Device timestamps in [from, to) belong to the phase. */
  readonly from: number;
  readonly to: number;
}

export interface StoredCounts {
  /** Rows stored for samples made in the run (seq ≤ cutoff of each device's stream). */
  readonly stored: number;
  /** received_at − device_ts of rows made in the measured window (windowStart < seq ≤ cutoff). */
  readonly latency: Histogram;
  readonly phases: ReadonlyMap<string, Histogram>;
}

export interface ServerView {
  stored(devices: readonly DeviceFinal[], phases?: readonly Phase[]): StoredCounts;
  exposureStored(ids: readonly string[], since: number): number;
  /** Audit events since `since` by "event:reason", each summary row counting its suppressed repeats too. */
  audited(since: number, deviceIds?: readonly string[]): Record<string, number>;
  /** Acknowledgements the server stored for a command id. */
  acks(cmdId: string): { status: string; reason: string | null }[];
  commandStatus(id: string): string | undefined;
  close(): void;
}

export function openServerView(dataDir: string): ServerView {
  const file = fleetPaths(dataDir).db;
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch {
    // A WAL database cannot be opened read-only while its -shm file is missing (no server running); we still
    // only read.
    db = new Database(file, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  }
  const rows = db
    .prepare(
      'SELECT seq, device_ts, received_at FROM telemetry_samples WHERE device_id = ? AND stream = ? AND seq <= ?',
    )
    .raw();
  const exposure = db.prepare('SELECT count(*) FROM exposure_reports WHERE device_id = ? AND received_at >= ?').pluck();
  const audit = db.prepare(
    `SELECT event, json_extract(detail, '$.reason') AS reason, device_id, 1 + coalesce(json_extract(detail, ` +
      `'$.suppressed'), 0) AS n FROM audit WHERE at >= ?`,
  );
  const acks = db.prepare('SELECT status, reason FROM command_acks WHERE cmd_id = ? ORDER BY id');
  const status = db.prepare('SELECT status FROM commands WHERE id = ?').pluck();

  return {
    stored(devices, phases = []) {
      let stored = 0;
      const latency = createHistogram();
      const byPhase = new Map(phases.map((p) => [p.name, createHistogram()]));
      for (const d of devices) {
        for (const [seq, deviceTs, receivedAt] of rows.iterate(d.id, d.stream, d.cutoff) as Iterable<
          [number, number, number]
        >) {
          stored++;
          if (seq <= d.windowStart) continue;
          const ms = receivedAt - deviceTs;
          latency.record(ms);
          for (const p of phases) if (deviceTs >= p.from && deviceTs < p.to) byPhase.get(p.name)!.record(ms);
        }
      }
      return { stored, latency, phases: byPhase };
    },
    exposureStored(ids, since) {
      let n = 0;
      for (const id of ids) n += exposure.get(id, since) as number;
      return n;
    },
    audited(since, deviceIds) {
      const only = deviceIds ? new Set(deviceIds) : undefined;
      const out: Record<string, number> = {};
      for (const r of audit.iterate(since) as Iterable<{
        event: string;
        reason: string | null;
        device_id: string | null;
        n: number;
      }>) {
        if (only && (r.device_id === null || !only.has(r.device_id))) continue;
        const key = r.reason ? `${r.event}:${r.reason}` : r.event;
        out[key] = (out[key] ?? 0) + r.n;
      }
      return out;
    },
    acks: (cmdId) => acks.all(cmdId) as { status: string; reason: string | null }[],
    commandStatus: (id) => status.get(id) as string | undefined,
    close: () => db.close(),
  };
}
