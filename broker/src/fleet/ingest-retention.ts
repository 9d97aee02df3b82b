// Retention: deletes telemetry received more than `telemetryDays` ago and exposure reports beyond the newest
// `reportsPerDevice` of each device, a small transaction at a time, on the ingest store's connection (the only writer
// of telemetry, so the sample keys stay in step) and scheduled in the ingest thread's idle time (schedulePruning).
import type { Db } from '../db/open.js';
import type { PrunedRow, SampleKeys } from './ingest-keys.js';

export interface Retention {
  /** Days a telemetry sample is kept after it was received, in every stream; null keeps every sample. */
  readonly telemetryDays: number | null;
  /** Exposure reports kept per device, the newest; null keeps every report. */
  readonly reportsPerDevice: number | null;
}

export const KEEP_EVERYTHING: Retention = { telemetryDays: null, reportsPerDevice: null };

/** At most this many telemetry rows, exposure reports (with their findings) and devices looked at per transaction. */
export const PRUNE_SAMPLES = 1000;
export const PRUNE_REPORTS = 100;
const PRUNE_DEVICES = 200;

const DAY_MS = 86_400_000;

/** What one retention transaction deleted. */
export interface Pruned {
  readonly samples: number;
  readonly reports: number;
  /** More is due now: the next transaction should follow soon. */
  readonly more: boolean;
}

export function createPruner(db: Db, retention: Retention, keys: SampleKeys) {
  // The newest row is never deleted: a table emptied by retention would hand out its ids again, to rows that
  // telemetry_keyed.through_id says are keyed already.
  const oldestRows = db
    .prepare(
      'SELECT id, device_id, stream, seq, received_at FROM telemetry WHERE id < (SELECT max(id) FROM telemetry) ' +
        'ORDER BY id LIMIT ?',
    )
    .raw();
  const deleteRowsThrough = db.prepare('DELETE FROM telemetry WHERE id <= ?');
  const nextReportDevice = db
    .prepare('SELECT device_id FROM exposure_reports WHERE device_id > ? ORDER BY device_id LIMIT 1')
    .pluck();
  const reportsBeyond = db
    .prepare('SELECT id FROM exposure_reports WHERE device_id = ? ORDER BY received_at DESC, id DESC LIMIT ? OFFSET ?')
    .pluck();
  const deleteFindings = db.prepare('DELETE FROM exposure_findings WHERE report_id = ?');
  const deleteReport = db.prepare('DELETE FROM exposure_reports WHERE id = ?');

  const keep = retention.reportsPerDevice;
  /** Devices that received a report since they were last pruned. */
  const dirty = new Set<string>();
  /** The sweep over every device's reports, once after start (a lowered limit): the last device done, '' first. */
  let sweptThrough: string | undefined = keep === null ? undefined : '';
  /** What the transaction in progress finished, applied once it commits. */
  let pending: { readonly done: string[]; sweptThrough: string | undefined } | undefined;

  function pruneSamples(now: number): { deleted: number; more: boolean } {
    if (retention.telemetryDays === null) return { deleted: 0, more: false };
    const cutoff = now - retention.telemetryDays * DAY_MS;
    const gone: PrunedRow[] = [];
    // Rows are in arrival order: the old ones are a prefix.
    for (const [id, deviceId, stream, seq, receivedAt] of oldestRows.iterate(PRUNE_SAMPLES) as Iterable<
      [number, string, string, number, number]
    >) {
      if (receivedAt >= cutoff) break;
      gone.push({ id, deviceId, stream, seq });
    }
    if (gone.length === 0) return { deleted: 0, more: false };
    keys.forget(gone, now);
    deleteRowsThrough.run(gone.at(-1)!.id);
    return { deleted: gone.length, more: gone.length === PRUNE_SAMPLES };
  }

  function pruneReports(): { deleted: number; more: boolean } {
    if (keep === null) return { deleted: 0, more: false };
    const p: NonNullable<typeof pending> = { done: [], sweptThrough };
    pending = p;
    const queue = [...dirty].slice(0, PRUNE_DEVICES);
    let deleted = 0;
    for (let looked = 0; ; looked++) {
      if (deleted === PRUNE_REPORTS || looked === PRUNE_DEVICES) return { deleted, more: true };
      const fromSweep = queue.length === 0;
      const device =
        queue.shift() ??
        (p.sweptThrough === undefined ? undefined : (nextReportDevice.get(p.sweptThrough) as string | undefined));
      if (device === undefined) {
        p.sweptThrough = undefined; // the sweep has looked at every device
        return { deleted, more: false };
      }
      const ids = reportsBeyond.all(device, PRUNE_REPORTS - deleted, keep) as number[];
      for (const id of ids) {
        deleteFindings.run(id);
        deleteReport.run(id);
      }
      deleted += ids.length;
      if (deleted === PRUNE_REPORTS) continue; // this device may have more: looked at again next time
      p.done.push(device);
      if (fromSweep) p.sweptThrough = device;
    }
  }

  return {
    enabled: retention.telemetryDays !== null || keep !== null,
    /** A report was stored for this device: its oldest may now be beyond the limit. */
    reportAdded(deviceId: string): void {
      if (keep !== null) dirty.add(deviceId);
    },
    /** Inside a transaction: deletes what is due, at most one batch of each kind. */
    step(now: number): Pruned {
      const samples = pruneSamples(now);
      if (samples.more) return { samples: samples.deleted, reports: 0, more: true };
      const reports = pruneReports();
      return { samples: samples.deleted, reports: reports.deleted, more: reports.more };
    },
    committed(): void {
      if (!pending) return;
      for (const d of pending.done) dirty.delete(d);
      sweptThrough = pending.sweptThrough;
      pending = undefined;
    },
    rolledBack(): void {
      pending = undefined;
    },
  };
}

export interface PruneScheduleOptions {
  /** How often to look for rows past retention (ms). */
  readonly everyMs: number;
  /** While more is due, the share of the time spent deleting (the rest is left to ingest). */
  readonly busyShare: number;
  /** After a failed transaction (a full disk), how long before the next try (ms). */
  readonly retryMs: number;
  readonly onPruned: (p: Pruned) => void;
  readonly onFailed: (err: unknown) => void;
}

export const DEFAULT_PRUNE_SCHEDULE = { everyMs: 10_000, busyShare: 0.25, retryMs: 30_000 } as const;

/**
 * Runs `prune` (one transaction) from a timer: every `everyMs`, and while more is due, again after a pause three
 * times as long as the transaction took (at busyShare 0.25), so that batches waiting for the same thread wait at most
 * one small transaction. Never per message. `prune` may be asynchronous (the shared store); stop() resolves once a
 * transaction under way has ended.
 */
export function schedulePruning(
  prune: () => Pruned | Promise<Pruned>,
  opts: PruneScheduleOptions,
): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const run = async () => {
    const started = performance.now();
    let delay = opts.everyMs;
    try {
      const p = await prune();
      if (p.samples + p.reports > 0) opts.onPruned(p);
      if (p.more) delay = (performance.now() - started) * (1 / opts.busyShare - 1);
    } catch (err) {
      opts.onFailed(err);
      delay = opts.retryMs;
    }
    if (!stopped) timer = setTimeout(start, delay).unref();
  };
  const start = () => {
    running = run();
  };
  // The first look soon after start, when the server has settled.
  timer = setTimeout(start, Math.min(opts.everyMs, 1000)).unref();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      return running;
    },
  };
}
