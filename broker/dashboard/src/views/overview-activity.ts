// The overview's last 24 hours: a count per hour (telemetry samples, security events) as bars, with the hours as
// a table for the text alternative.
import { type Chart, seconds, timeChart } from '../chart.js';
import { plural } from '../format.js';
import { dataTable } from '../table.js';

interface Hour {
  readonly hour: string;
  readonly count: number;
}

export function hourlyChart(opts: {
  readonly title: string;
  /** Names the table (CSV file, test id) and the chart (chart-<name>). */
  readonly name: string;
  /** What is counted, one and many: ['sample', 'samples']. */
  readonly what: readonly [string, string];
  /** The series and column name: 'Samples'. */
  readonly label: string;
  readonly color: string;
  readonly hours: readonly Hour[];
}): Chart {
  const [one, many] = opts.what;
  const total = opts.hours.reduce((s, x) => s + x.count, 0);
  const peak = opts.hours.reduce((m, x) => Math.max(m, x.count), 0);
  const hourLabel = (iso: string) => `${iso.slice(0, 13).replace('T', ' ')}:00`;
  return timeChart({
    title: opts.title,
    summary:
      `${plural(total, one, many)} in the last ${opts.hours.length} hours` +
      (total > 0 ? `; at most ${plural(peak, one, many)} in an hour.` : '.'),
    x: opts.hours.map((x) => seconds(x.hour)),
    series: [
      {
        label: opts.label,
        color: opts.color,
        values: opts.hours.map((x) => x.count),
        kind: 'bars',
      },
    ],
    height: 180,
    step: 3600,
    testid: `chart-${opts.name}`,
    table: dataTable(
      {
        caption: opts.title,
        name: opts.name,
        columns: [
          { label: 'Hour (UTC)', value: (x: Hour) => x.hour, cell: (x) => hourLabel(x.hour), rowHeader: true },
          { label: opts.label, value: (x) => x.count, numeric: true },
        ],
      },
      [...opts.hours].reverse(),
    ).element,
  });
}
