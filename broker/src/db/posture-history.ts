// The fleet's exposure posture day by day, from the stored reports: for each day, the devices that had reported
// by its end, their average score and grade counts, each device counted by its latest report as of that day.
// One pass over the reports of the period (in arrival order), keeping each device's latest score in memory.
import { createArrivalSearch } from './arrival-order.js';
import type { Db } from './open.js';

const DAY = 86_400_000;
const GRADES = ['A', 'B', 'C', 'D', 'F'] as const;

export interface PostureDay {
  /** The UTC day, YYYY-MM-DD; today's counts are as of now. */
  readonly day: string;
  readonly devices: number;
  /** One decimal, as `fleet posture` rounds it; null when no device had reported. */
  readonly averageScore: number | null;
  readonly grades: Record<(typeof GRADES)[number], number>;
}

interface ReportRow {
  device_id: string;
  score: number;
  grade: string;
  received_at: number;
}

/** The last `days` UTC days up to today, oldest first. */
export function postureHistory(db: Db, days: number, now: number): PostureDay[] {
  const start = Math.floor(now / DAY) * DAY - (days - 1) * DAY;
  const latest = new Map<string, { score: number; grade: string }>();
  const grades: Record<string, number> = Object.fromEntries(GRADES.map((g) => [g, 0]));
  let sum = 0;
  const apply = (r: ReportRow) => {
    const before = latest.get(r.device_id);
    if (before) {
      sum -= before.score;
      grades[before.grade] = (grades[before.grade] ?? 0) - 1;
    }
    latest.set(r.device_id, { score: r.score, grade: r.grade });
    sum += r.score;
    grades[r.grade] = (grades[r.grade] ?? 0) + 1;
  };

  // Where each device stood when the period began: its latest report before it (the per-device index answers).
  const before = db.prepare(
    `SELECT device_id, score, grade, received_at FROM exposure_reports WHERE id IN
       (SELECT max(id) FROM exposure_reports WHERE received_at < ? GROUP BY device_id)`,
  );
  for (const r of before.iterate(start) as Iterable<ReportRow>) apply(r);

  const out: PostureDay[] = [];
  const close = () => {
    const dayStart = start + out.length * DAY;
    out.push({
      day: new Date(dayStart).toISOString().slice(0, 10),
      devices: latest.size,
      averageScore: latest.size ? Math.round((sum / latest.size) * 10) / 10 : null,
      grades: Object.fromEntries(GRADES.map((g) => [g, grades[g] ?? 0])) as PostureDay['grades'],
    });
  };
  const firstId = createArrivalSearch(db, 'exposure_reports')(start);
  const period = db.prepare(
    'SELECT device_id, score, grade, received_at FROM exposure_reports WHERE id >= ? ORDER BY id',
  );
  for (const r of period.iterate(firstId) as Iterable<ReportRow>) {
    while (out.length < days && r.received_at >= start + (out.length + 1) * DAY) close();
    if (out.length === days) break;
    apply(r);
  }
  while (out.length < days) close();
  return out;
}
