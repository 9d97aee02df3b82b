// A device's telemetry over a time range the operator picks: a chart of up to six metrics, a per-metric summary
// (the chart's text alternative) and the latest samples. At most MAX_SAMPLES are read, a page of 1,000 at a time.
import { api, query } from '../api.js';
import type { Page, TelemetrySample } from '../api-types.js';
import { type Chart, seconds, timeChart } from '../chart.js';
import { fail } from '../failure.js';
import { num, time } from '../format.js';
import { h, replace } from '../h.js';
import { note } from '../parts.js';
import { dataTable } from '../table.js';
import type { ViewContext } from '../view.js';

const MAX_SAMPLES = 5000;
const MAX_METRICS = 6;
const SHOWN_SAMPLES = 100;

const RANGES = [
  { value: '1h', label: 'Last hour', ms: 3_600_000 },
  { value: '6h', label: 'Last 6 hours', ms: 6 * 3_600_000 },
  { value: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { value: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
] as const;

interface MetricSummary {
  name: string;
  count: number;
  min: number;
  max: number;
  mean: number;
  last: number;
}

export function telemetryPart(ctx: ViewContext, deviceId: string, charts: Set<Chart>) {
  let range: (typeof RANGES)[number] = RANGES[2];
  /** A custom range (datetime-local values, the browser's time) instead of a preset, when set. */
  let custom: { from: Date; to: Date } | null = null;
  let chart: Chart | null = null;
  const slot = h('div', { class: 'telemetry' });
  const select = h(
    'select',
    { id: 'telemetry-range' },
    RANGES.map((r) => h('option', { value: r.value, selected: r === range }, r.label)),
    h('option', { value: 'custom' }, 'From … to …'),
  );
  const fromInput = h('input', { id: 'telemetry-from', type: 'datetime-local', required: true });
  const toInput = h('input', { id: 'telemetry-to', type: 'datetime-local', required: true });
  const customForm = h(
    'form',
    { class: 'filters', 'aria-label': 'Custom time range', hidden: true },
    h('div', { class: 'field' }, h('label', { for: 'telemetry-from' }, 'From (local time)'), fromInput),
    h('div', { class: 'field' }, h('label', { for: 'telemetry-to' }, 'To (local time)'), toInput),
    h('div', { class: 'field buttons' }, h('button', { type: 'submit' }, 'Show')),
  );
  customForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const from = new Date(fromInput.value);
    const to = new Date(toInput.value);
    if (!(from < to)) {
      toInput.setCustomValidity('The end must come after the start.');
      toInput.reportValidity();
      return;
    }
    toInput.setCustomValidity('');
    custom = { from, to };
    load().catch(fail);
  });
  toInput.addEventListener('input', () => toInput.setCustomValidity(''));

  const fetchPage = (from: Date, to: Date, cursor?: string): Promise<Page<TelemetrySample>> =>
    api(
      `/devices/${encodeURIComponent(deviceId)}/telemetry` +
        query({ from: from.toISOString(), to: to.toISOString(), limit: 1000, cursor }),
      { signal: ctx.signal },
    );

  /** Pages of [from, to) until the end or MAX_SAMPLES; `first` when it has been read already. */
  const fetchPages = async (from: Date, to: Date, first?: Page<TelemetrySample>) => {
    let page = first ?? (await fetchPage(from, to));
    const samples = [...page.items];
    while (page.next !== null && samples.length < MAX_SAMPLES) {
      page = await fetchPage(from, to, page.next);
      samples.push(...page.items);
    }
    return { samples, more: page.next !== null };
  };

  /**
   * The samples of [from, to), or when there are more than MAX_SAMPLES, the latest ones: the API pages oldest
   * first, so the first page tells the rate and the read starts late enough for MAX_SAMPLES to reach `to`.
   */
  const fetchSamples = async (from: Date, to: Date) => {
    const first = await fetchPage(from, to);
    const last = first.items.at(-1);
    const covered = last ? Date.parse(last.receivedAt) - from.getTime() : 0;
    const expected = covered > 0 ? (first.items.length * (to.getTime() - from.getTime())) / covered : 0;
    if (first.next === null || expected <= MAX_SAMPLES) {
      return { ...(await fetchPages(from, to, first)), from, expected };
    }
    // A little less than MAX_SAMPLES' worth of time, so that the read usually ends at `to`.
    const later = new Date(to.getTime() - (0.9 * MAX_SAMPLES * covered) / first.items.length);
    return { ...(await fetchPages(later, to)), from: later, expected };
  };

  const load = async () => {
    const to = custom?.to ?? new Date();
    const from = custom?.from ?? new Date(to.getTime() - range.ms);
    const { samples, more, from: shownFrom, expected } = await fetchSamples(from, to);
    const cut = shownFrom > from;
    // What the chart shows: the preset's name, or the times (those of the latest samples when the range was cut).
    const label = custom || cut ? `${shownFrom.toLocaleString()} to ${to.toLocaleString()}` : range.label.toLowerCase();
    if (chart) chart.destroy(), charts.delete(chart);
    chart = null;
    const stats = summarise(samples);
    const shown = stats.slice(0, MAX_METRICS);
    const summaryTable = dataTable(
      {
        caption: `Telemetry metrics, ${label}`,
        name: 'telemetry-metrics',
        columns: [
          { label: 'Metric', value: (m: MetricSummary) => m.name, rowHeader: true },
          { label: 'Samples', value: (m) => m.count, numeric: true },
          { label: 'Min', value: (m) => m.min, cell: (m) => round(m.min), numeric: true },
          { label: 'Mean', value: (m) => m.mean, cell: (m) => round(m.mean), numeric: true },
          { label: 'Max', value: (m) => m.max, cell: (m) => round(m.max), numeric: true },
          { label: 'Latest', value: (m) => m.last, cell: (m) => round(m.last), numeric: true },
        ],
        empty: 'No samples in this range.',
      },
      stats,
    );
    const latest = samples.slice(-SHOWN_SAMPLES).reverse();
    const sampleTable = dataTable(
      {
        caption: `The latest ${Math.min(SHOWN_SAMPLES, samples.length)} samples, newest first`,
        name: 'telemetry-samples',
        columns: [
          {
            label: 'Received',
            value: (s: TelemetrySample) => s.receivedAt,
            cell: (s) => time(s.receivedAt),
            rowHeader: true,
          },
          { label: 'Device time', value: (s) => s.ts, cell: (s) => time(s.ts) },
          { label: 'Stream', value: (s) => `${s.stream}#${s.seq}` },
          {
            label: 'Metrics',
            value: (s) => JSON.stringify(s.metrics),
            cell: (s) =>
              Object.entries(s.metrics)
                .map(([k, v]) => `${k}=${round(v)}`)
                .join(', '),
          },
        ],
        empty: 'No samples in this range.',
      },
      latest,
    );
    if (shown.length > 0) {
      const x = samples.map((s) => seconds(s.receivedAt));
      chart = timeChart({
        title: `Telemetry, ${label}`,
        summary:
          `${num(samples.length)} samples. ` +
          shown.map((m) => `${m.name} from ${round(m.min)} to ${round(m.max)}, latest ${round(m.last)}`).join('; ') +
          '.',
        x,
        series: shown.map((m, i) => ({
          label: m.name,
          color: `--series-${i + 1}`,
          values: samples.map((s) => s.metrics[m.name] ?? null),
        })),
        height: 240,
        table: summaryTable.element,
        testid: 'chart-telemetry',
      });
      charts.add(chart);
    }
    replace(
      slot,
      cut
        ? note(
            `This range holds about ${num(Math.round(expected))} samples: showing the latest ${num(samples.length)}, ` +
              `from ${shownFrom.toLocaleString()}. Pick a shorter range to see the rest.`,
            'warn',
          )
        : null,
      more
        ? note(`Showing the first ${num(samples.length)} samples from ${shownFrom.toLocaleString()}.`, 'warn')
        : null,
      stats.length > MAX_METRICS
        ? note(`The chart shows ${MAX_METRICS} of ${stats.length} metrics; the table lists all.`)
        : null,
      chart ? chart.element : summaryTable.element,
      h('details', { class: 'samples' }, h('summary', null, 'Latest samples'), sampleTable.element),
    );
  };

  select.addEventListener('change', () => {
    if (select.value === 'custom') {
      // Start from the range shown, so the fields need only a change.
      const local = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
      const now = new Date();
      fromInput.value = local(new Date(now.getTime() - range.ms));
      toInput.value = local(now);
      customForm.hidden = false;
      fromInput.focus();
      return;
    }
    customForm.hidden = true;
    custom = null;
    range = RANGES.find((r) => r.value === select.value) ?? RANGES[2];
    load().catch(fail);
  });

  return {
    element: h(
      'div',
      null,
      h('div', { class: 'controls' }, h('label', { for: 'telemetry-range' }, 'Time range'), select),
      customForm,
      slot,
    ),
    load,
  };
}

/** Four significant digits for reading; the CSV keeps the value as sent. */
const round = (v: number) => num(Number(v.toPrecision(4)));

/** Per metric: how often it appears and its range; the most frequent first. */
function summarise(samples: readonly TelemetrySample[]): MetricSummary[] {
  const by = new Map<string, MetricSummary & { sum: number }>();
  for (const s of samples) {
    for (const [name, v] of Object.entries(s.metrics)) {
      const m = by.get(name);
      if (!m) by.set(name, { name, count: 1, min: v, max: v, mean: v, last: v, sum: v });
      else {
        m.count++;
        m.min = Math.min(m.min, v);
        m.max = Math.max(m.max, v);
        m.sum += v;
        m.last = v;
      }
    }
  }
  return [...by.values()]
    .map(({ sum, ...m }) => ({ ...m, mean: sum / m.count }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}
