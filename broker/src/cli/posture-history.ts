// fleet posture --since: the option read into a history query, and the trend printed as a table.
import { UsageError } from '../../../shared/src/index.js';
import type { PostureHistory } from '../admin/types.js';
import { MAX_PERIODS, PERIOD_MS, type Resolution } from '../db/posture-snapshots.js';
import { renderTable } from './table.js';

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
/** From this span on, the trend is shown per day unless --resolution says otherwise. */
const DAYS_FROM_MS = 3 * 86_400_000;
const BAR_WIDTH = 20;

/** How far back a resolution may go, as a user would write it. */
const limitText = (r: Resolution) => (r === 'day' ? `${MAX_PERIODS.day}d` : `${MAX_PERIODS.hour}h`);

/**
 * --since (a duration such as 30d or 48h, or an ISO 8601 time) and --resolution, checked against the clock: the
 * query to send, `since` as an ISO time, so the server and the host read the same periods.
 */
export function posturePeriodsOption(
  since: string,
  resolution: string | undefined,
  now: number,
): { resolution: Resolution; since: string } {
  const duration = /^(\d+)(m|h|d)$/.exec(since);
  // A bare number is refused: days or hours would both be a fair reading of `--since 30`.
  const at = duration
    ? now - Number(duration[1]) * UNITS[duration[2]!]!
    : /^\d{4}-\d{2}-\d{2}/.test(since)
      ? Date.parse(since)
      : Number.NaN;
  if (Number.isNaN(at)) {
    throw new UsageError(`--since takes a duration (30d, 48h) or an ISO 8601 time, got ${JSON.stringify(since)}`);
  }
  const span = now - at;
  if (span <= 0) throw new UsageError(`--since must be in the past, got ${JSON.stringify(since)}`);
  if (resolution !== undefined && resolution !== 'day' && resolution !== 'hour') {
    throw new UsageError(`--resolution is day or hour, got ${JSON.stringify(resolution)}`);
  }
  const r: Resolution = resolution ?? (span >= DAYS_FROM_MS ? 'day' : 'hour');
  if (span > MAX_PERIODS[r] * PERIOD_MS[r]) {
    throw new UsageError(
      `--since goes back at most ${limitText(r)} with --resolution ${r}, got ${JSON.stringify(since)}`,
    );
  }
  return { resolution: r, since: new Date(at).toISOString() };
}

const label = (start: string, r: Resolution) => (r === 'day' ? start.slice(0, 10) : `${start.slice(0, 13)}:00`);

/** One row per period; the average score as a bar too (a full bar is 100), so the trend shows at a glance. */
export function printPostureHistory(h: PostureHistory): void {
  const reported = h.periods.filter((p) => p.averageScore !== null);
  const first = reported[0];
  const last = reported.at(-1);
  process.stdout.write(
    first && last
      ? `fleet posture per ${h.resolution} (UTC): average score ${first.averageScore} -> ${last.averageScore}, ` +
          `devices ${first.devices} -> ${last.devices}\n\n`
      : `fleet posture per ${h.resolution} (UTC): no exposure reports in this time\n\n`,
  );
  process.stdout.write(
    renderTable(
      ['PERIOD', 'DEVICES', 'REPORTING', 'AVERAGE', 'A', 'B', 'C', 'D', 'F', 'SCORE'],
      h.periods.map((p) => [
        `${label(p.start, h.resolution)}${p.partial ? ' *' : ''}`,
        p.devices,
        p.reporting,
        p.averageScore,
        p.grades.A,
        p.grades.B,
        p.grades.C,
        p.grades.D,
        p.grades.F,
        p.averageScore === null ? '' : '#'.repeat(Math.round((p.averageScore / 100) * BAR_WIDTH)),
      ]),
    ),
  );
  process.stdout.write('\n* so far: computed from the reports received until now\n');
}
