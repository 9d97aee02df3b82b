// The fleet's posture over time, as `fleet posture --since` and GET /api/v1/posture/history show it: the stored
// snapshots (posture-snapshots.ts) of the periods since a time, then the periods not stored yet computed live from
// the reports: the current one, and the one before until it is stored. Reads only, through the store's posture
// (either engine: store/types.ts PostureStore).
import {
  type GradeCounts,
  MAX_PERIODS,
  PERIOD_MS,
  type PostureSnapshot,
  periodStart,
  type Resolution,
} from './posture-snapshots.js';
import type { PostureStore } from '../store/types.js';

/** What each resolution shows when no `since` is given: the last 30 days, the last 48 hours. */
export const DEFAULT_SPAN_MS: Record<Resolution, number> = { day: 30 * PERIOD_MS.day, hour: 48 * PERIOD_MS.hour };

export interface PosturePeriod {
  /** The period's start (ISO 8601, UTC); it ends an hour or a day later. */
  readonly start: string;
  readonly devices: number;
  readonly reporting: number;
  readonly averageScore: number | null;
  readonly grades: GradeCounts;
  readonly scores: number[];
  /** Absent when the caller left the per-check counts out (GET /posture/history?checks=false). */
  readonly checks?: Record<string, number>;
  /** Computed live from the reports so far (the current period, or one just ended): it may still change. */
  readonly partial?: true;
}

export interface PostureHistory {
  readonly resolution: Resolution;
  /**
   * Oldest first. The current period is always there (live, zeros before any report); a completed period without
   * a snapshot (before the first report, or not computed yet: a running server fills in what it missed) is absent.
   */
  readonly periods: PosturePeriod[];
}

const periodOf = (s: PostureSnapshot, partial: boolean): PosturePeriod => ({
  start: new Date(s.start).toISOString(),
  devices: s.devices,
  reporting: s.reporting,
  averageScore: s.averageScore,
  grades: s.grades,
  scores: s.scores,
  checks: s.checks,
  ...(partial ? { partial: true as const } : {}),
});

export function createPostureHistory(snapshots: Pick<PostureStore, 'read' | 'compute'>) {
  /**
   * The periods from the one holding `since` through the current one. `since` defaults to DEFAULT_SPAN_MS ago and
   * is brought forward to MAX_PERIODS ago (older snapshots are not kept at that resolution) and back to now.
   */
  return async (q: { resolution: Resolution; since?: number }, now: number): Promise<PostureHistory> => {
    const { resolution } = q;
    const length = PERIOD_MS[resolution];
    const current = periodStart(resolution, now);
    const oldest = current - MAX_PERIODS[resolution] * length;
    const first = Math.min(
      current,
      Math.max(oldest, periodStart(resolution, q.since ?? now - DEFAULT_SPAN_MS[resolution])),
    );
    const stored = await snapshots.read(resolution, first, current);
    const periods = stored.map((s) => periodOf(s, false));
    // The previous period is stored a minute or two after it ended (SETTLE_MS, then the next run), and only while
    // a server runs: until then, live, so the trend never lacks its last completed period (unless it had no
    // device yet: before the first report a completed period is absent, live or not).
    const previous = current - length;
    if (previous >= first && stored.at(-1)?.start !== previous) {
      const live = await snapshots.compute(resolution, previous);
      if (live.devices > 0) periods.push(periodOf(live, true));
    }
    periods.push(periodOf(await snapshots.compute(resolution, current), true));
    return { resolution, periods };
  };
}
