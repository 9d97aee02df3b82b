// Fleet posture snapshots (migration 13): one row per UTC day for ever and per UTC hour for the last week, each
// computed once from the stored reports after its period has ended. A year of daily rows is about 365 KiB (rows of
// ~1 KiB, mostly the per-check counts), the hourly ones another ~170 KiB that never grows: `fleet posture --since`
// and the dashboard read these instead of replaying every report, and they outlive the reports retention deletes.
import type { PostureStore } from '../store/types.js';
import type { Db } from './open.js';

export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const GRADES = ['A', 'B', 'C', 'D', 'F'] as const;

export type Resolution = 'hour' | 'day';
export const PERIOD_MS: Record<Resolution, number> = { hour: HOUR, day: DAY };
/** How far back each resolution goes: daily rows back to 366 days (a year and a leap day), hourly ones a week. */
export const MAX_PERIODS: Record<Resolution, number> = { day: 366, hour: 168 };

/**
 * A period is computed and stored this long after its end. Reports are stamped before the ingest thread commits
 * them, so a report stamped just before the end may be committed a little after it (the slack of
 * db/arrival-order.ts); until then the period is read live, marked partial.
 */
export const SETTLE_MS = 60_000;

export type GradeCounts = Record<(typeof GRADES)[number], number>;

/** The fleet's posture over one period, as stored and as the API shows it. */
export interface PostureSnapshot {
  readonly resolution: Resolution;
  /** The period's start, ms since the epoch (UTC); it ends one hour or one day later. */
  readonly start: number;
  /** Active devices (not revoked by the period's end) with a report received before its end. */
  readonly devices: number;
  /** Of them, those that sent a report within the period (the others are counted by their last one). */
  readonly reporting: number;
  /** Of `devices`' latest reports, one decimal; null when there is none. */
  readonly averageScore: number | null;
  readonly grades: GradeCounts;
  /** 11 counts: scores 0-9, 10-19, …, 90-99, then 100 alone. */
  readonly scores: number[];
  /** Check id → how many of `devices` have it in their latest report; sorted by check id. */
  readonly checks: Record<string, number>;
}

/** The start of the period that holds `at`. */
export const periodStart = (resolution: Resolution, at: number): number =>
  Math.floor(at / PERIOD_MS[resolution]) * PERIOD_MS[resolution];

export const scoreBucket = (score: number): number => Math.min(10, Math.max(0, Math.floor(score / 10)));

/** A device's latest report before a period's end, as both engines' queries return it. */
export interface LatestReportRow {
  id: number;
  score: number;
  grade: string;
  received_at: number;
}

/** The snapshot of a period from each counted device's latest report and the check counts of those reports. */
export function snapshotOf(
  resolution: Resolution,
  start: number,
  rows: readonly LatestReportRow[],
  counts: readonly { check_id: string; n: number }[],
): PostureSnapshot {
  const grades: GradeCounts = { A: 0, B: 0, C: 0, D: 0, F: 0 };
  const scores = new Array<number>(11).fill(0);
  let sum = 0;
  let reporting = 0;
  for (const r of rows) {
    if (r.grade in grades) grades[r.grade as keyof GradeCounts]++;
    scores[scoreBucket(r.score)]!++;
    sum += r.score;
    if (r.received_at >= start) reporting++;
  }
  return {
    resolution,
    start,
    devices: rows.length,
    reporting,
    averageScore: rows.length ? Math.round((sum / rows.length) * 10) / 10 : null,
    grades,
    scores,
    checks: Object.fromEntries(counts.map((c) => [c.check_id, Number(c.n)])),
  };
}

interface SnapshotRow {
  resolution: Resolution;
  start: number;
  devices: number;
  reporting: number;
  average_score: number | null;
  grades: string;
  scores: string;
  checks: string;
}

export type PostureSnapshots = ReturnType<typeof createPostureSnapshots>;

export function createPostureSnapshots(db: Db) {
  // Each device's latest report before the end: one step down the (device_id, received_at) index per device, so a
  // period costs the same whether the fleet sent a hundred reports or a million. A device counts until it was
  // revoked; a revoked row without revoked_at (hand-edited) counts as revoked for ever.
  const latest = db.prepare(`
    SELECT r.id, r.score, r.grade, r.received_at
      FROM devices d
      JOIN exposure_reports r ON r.id = (
        SELECT id FROM exposure_reports WHERE device_id = d.id AND received_at < @end
         ORDER BY received_at DESC, id DESC LIMIT 1)
     WHERE NOT (d.status = 'revoked' AND coalesce(d.revoked_at, 0) < @end)`);
  const checks = db.prepare(`
    SELECT check_id, count(DISTINCT device_id) AS n FROM exposure_findings
     WHERE report_id IN (SELECT value FROM json_each(?)) GROUP BY check_id ORDER BY check_id`);
  const upsert = db.prepare(`
    INSERT OR REPLACE INTO posture_snapshots (resolution, start, devices, reporting, average_score, grades, scores,
      checks, computed_at)
    VALUES (@resolution, @start, @devices, @reporting, @averageScore, @grades, @scores, @checks, @computedAt)`);
  const stored = db.prepare(`
    SELECT resolution, start, devices, reporting, average_score, grades, scores, checks FROM posture_snapshots
     WHERE resolution = ? AND start >= ? AND start < ? ORDER BY start`);

  const storedStarts = db
    .prepare('SELECT start FROM posture_snapshots WHERE resolution = ? AND start >= ? AND start < ?')
    .pluck();
  // The reports are stored in arrival order: the first rows hold the earliest stamp (a few crossed stamps aside).
  const firstReportAt = db
    .prepare('SELECT min(received_at) FROM (SELECT received_at FROM exposure_reports ORDER BY id LIMIT 100)')
    .pluck();
  const pruneHours = db.prepare(`DELETE FROM posture_snapshots WHERE resolution = 'hour' AND start < ?`);

  return {
    /** The posture over [start, start + one period) from the reports stored now. */
    compute(resolution: Resolution, start: number): PostureSnapshot {
      const rows = latest.all({ end: start + PERIOD_MS[resolution] }) as LatestReportRow[];
      const counts = rows.length
        ? (checks.all(JSON.stringify(rows.map((r) => r.id))) as { check_id: string; n: number }[])
        : [];
      return snapshotOf(resolution, start, rows, counts);
    },
    /** The starts of the stored periods in [from, to). */
    starts(resolution: Resolution, from: number, to: number): number[] {
      return storedStarts.all(resolution, from, to) as number[];
    },
    /** The stamp of the earliest stored report (null: none). */
    firstReportAt(): number | null {
      return firstReportAt.get() as number | null;
    },
    /** Deletes the hourly rows of periods starting before `before`; returns how many. */
    pruneHours(before: number): number {
      return pruneHours.run(before).changes;
    },
    /** Stores a snapshot, replacing the period's row if there was one. */
    store(s: PostureSnapshot, computedAt: number): void {
      upsert.run({
        resolution: s.resolution,
        start: s.start,
        devices: s.devices,
        reporting: s.reporting,
        averageScore: s.averageScore,
        grades: JSON.stringify(s.grades),
        scores: JSON.stringify(s.scores),
        checks: JSON.stringify(s.checks),
        computedAt,
      });
    },
    /** The stored snapshots of periods starting in [from, to), oldest first. */
    read(resolution: Resolution, from: number, to: number): PostureSnapshot[] {
      return (stored.all(resolution, from, to) as SnapshotRow[]).map((r) => ({
        resolution: r.resolution,
        start: r.start,
        devices: r.devices,
        reporting: r.reporting,
        averageScore: r.average_score,
        grades: JSON.parse(r.grades) as GradeCounts,
        scores: JSON.parse(r.scores) as number[],
        checks: JSON.parse(r.checks) as Record<string, number>,
      }));
    },
  };
}

export interface SnapshotterOptions {
  /** The wall clock (ms since the epoch). */
  readonly now?: () => number;
  /** At most this many periods are computed per catchUp() call… */
  readonly maxPeriods?: number;
  /** …and no more once a call has spent this long (ms): a backlog is spread over several calls. */
  readonly budgetMs?: number;
  /** Measures the budget; tests inject a fake one. */
  readonly elapsed?: () => number;
}

/** What one catchUp() call did. */
export interface CatchUp {
  readonly computed: number;
  /** Periods still missing: the caller should call again soon. */
  readonly remaining: number;
  /** Hourly rows deleted for being older than a week. */
  readonly pruned: number;
}

export type PostureSnapshotter = ReturnType<typeof createPostureSnapshotter>;

/**
 * Fills in the snapshots of completed periods that are missing: every day from the day of the first stored report
 * (at most 366 days back) and every hour of the last 168, newest first, so a long backlog (the first start after
 * an upgrade, a server stopped for days) shows the recent trend first. Periods already stored are not computed
 * again, so calling it twice changes nothing. Hourly rows older than a week are deleted; daily ones are kept.
 * Either engine: `posture` is the store's (store/types.ts PostureStore).
 */
export function createPostureSnapshotter(posture: PostureStore, opts: SnapshotterOptions = {}) {
  const now = opts.now ?? Date.now;
  const maxPeriods = opts.maxPeriods ?? 100;
  const budgetMs = opts.budgetMs ?? 50;
  const elapsed = opts.elapsed ?? (() => performance.now());

  /** The completed periods of a resolution that have no snapshot, newest first. */
  async function missing(resolution: Resolution, at: number, first: number): Promise<number[]> {
    const length = PERIOD_MS[resolution];
    // The last period that ended (and settled) before `at`, and the oldest one kept.
    const newest = periodStart(resolution, at - SETTLE_MS) - length;
    const oldest = Math.max(
      periodStart(resolution, first),
      periodStart(resolution, at) - MAX_PERIODS[resolution] * length,
    );
    const have = new Set(await posture.starts(resolution, oldest, newest + length));
    const out: number[] = [];
    for (let s = newest; s >= oldest; s -= length) if (!have.has(s)) out.push(s);
    return out;
  }

  /** Every missing period as of `at`: hours first, as they would be pruned before a slow backlog reached them. */
  async function todo(at: number): Promise<{ resolution: Resolution; start: number }[]> {
    const first = await posture.firstReportAt();
    if (first === null) return [];
    return [
      ...(await missing('hour', at, first)).map((start) => ({ resolution: 'hour' as const, start })),
      ...(await missing('day', at, first)).map((start) => ({ resolution: 'day' as const, start })),
    ];
  }

  return {
    /** How many completed periods have no snapshot yet: two small queries, cheap enough to ask every minute. */
    async pending(): Promise<number> {
      return (await todo(now())).length;
    },
    async catchUp(): Promise<CatchUp> {
      const at = now();
      const pruned = await posture.pruneHours(periodStart('hour', at) - MAX_PERIODS.hour * HOUR);
      const missingNow = await todo(at);
      const began = elapsed();
      let computed = 0;
      for (const p of missingNow) {
        if (computed >= maxPeriods || (computed > 0 && elapsed() - began >= budgetMs)) break;
        await posture.store(await posture.compute(p.resolution, p.start), at);
        computed++;
      }
      return { computed, remaining: missingNow.length - computed, pruned };
    },
  };
}
