// The overview's posture over time: the average score and the grade distribution per day (a year) or per hour
// (a week), from /posture/history, with the periods as a table for the text alternative.
import { GRADES, type PostureHistory } from '../api-types.js';
import { type Chart, seconds, timeChart } from '../chart.js';
import { num } from '../format.js';
import { dataTable } from '../table.js';

export const RANGES = [
  { value: '7h', label: 'Last 7 days, by hour', days: 7, resolution: 'hour' },
  { value: '30', label: 'Last 30 days', days: 30, resolution: 'day' },
  { value: '90', label: 'Last 90 days', days: 90, resolution: 'day' },
  { value: '365', label: 'Last year', days: 365, resolution: 'day' },
] as const;
export type Range = (typeof RANGES)[number];

/** The start of the UTC day `days - 1` days ago: `days` daily periods up to today. */
export function sinceFor(range: Range, now = new Date()): string {
  if (range.resolution === 'hour') return new Date(now.getTime() - range.days * 86_400_000).toISOString();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (range.days - 1))).toISOString();
}

export function historyCharts(hist: PostureHistory): Chart[] {
  const periods = hist.periods;
  const x = periods.map((p) => seconds(p.start));
  const byHour = hist.resolution === 'hour';
  const step = byHour ? 3600 : 86_400;
  const when = (iso: string) => (byHour ? `${iso.slice(0, 13).replace('T', ' ')}:00` : iso.slice(0, 10));
  const scored = periods.filter((p) => p.averageScore !== null);
  const first = scored[0];
  const last = scored.at(-1);
  const scores = scored.map((p) => p.averageScore as number);
  const so = (p: { start: string; partial?: true }) => `${when(p.start)}${p.partial ? ' (so far)' : ''}`;
  const unit = byHour ? 'hour' : 'day';
  let scoreSummary = 'No device has reported in this period.';
  if (first && last && first !== last) {
    scoreSummary =
      `Average exposure score ${first.averageScore} on ${so(first)}, ${last.averageScore} on ${so(last)}; ` +
      `lowest ${Math.min(...scores)}, highest ${Math.max(...scores)}.`;
  } else if (last) {
    scoreSummary = `Average exposure score ${last.averageScore} on ${so(last)}, the only ${unit} with reports.`;
  }
  const latest = periods.at(-1);
  const gradeSummary = latest
    ? `On ${so(latest)}: ${GRADES.map((g) => `${latest.grades[g]} grade ${g}`).join(', ')}.`
    : 'No periods.';
  const table = dataTable(
    {
      caption: `Fleet exposure ${byHour ? 'per hour' : 'per day'}`,
      name: 'posture-history',
      columns: [
        {
          label: byHour ? 'Hour (UTC)' : 'Day (UTC)',
          value: (p) => p.start,
          cell: (p) => so(p),
          rowHeader: true,
        },
        { label: 'Average score', value: (p) => p.averageScore?.toFixed(1) ?? null, numeric: true },
        { label: 'Reporting', value: (p) => p.reporting, numeric: true },
        { label: 'Devices', value: (p) => p.devices, numeric: true },
        ...GRADES.map((g) => ({ label: g, value: (p: (typeof periods)[number]) => p.grades[g], numeric: true })),
      ],
      empty: 'No periods.',
    },
    [...periods].reverse(),
  );
  // Stacked areas: each grade is drawn as the running total up to it, F (everything) first and A last on top,
  // so each band's height is that grade's count. The legend shows the count itself.
  const stacked = GRADES.map((_, gi) =>
    periods.map((p) => GRADES.slice(0, gi + 1).reduce((sum, g) => sum + p.grades[g], 0)),
  );
  const gradeSeries = GRADES.map((g, gi) => ({
    label: `Grade ${g}`,
    color: `--grade-${g}`,
    values: stacked[gi] ?? [],
    kind: 'area' as const,
    valueAt: (i: number) => num(periods[i]?.grades[g]),
  })).reverse();
  return [
    timeChart({
      title: 'Fleet exposure score over time',
      summary: scoreSummary,
      x,
      series: [{ label: 'Average score', color: '--accent', values: periods.map((p) => p.averageScore) }],
      y: { min: 0, max: 100 },
      step,
      table: table.element,
      testid: 'chart-score',
    }),
    timeChart({
      title: `Grade distribution ${byHour ? 'per hour' : 'per day'}`,
      summary: gradeSummary,
      x,
      series: gradeSeries,
      step,
      testid: 'chart-grades',
    }),
  ];
}
