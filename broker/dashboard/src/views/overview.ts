// The fleet overview (#/): devices online and offline, certificates expiring, the live connection count, the
// exposure posture now and over time, the worst devices, the most widespread findings, and the last 24 hours of
// telemetry and security events. Every part the role cannot read is left out.
import { api, query } from '../api.js';
import {
  GRADES,
  type HourlyEvents,
  type HourlyTelemetry,
  type Overview,
  type Posture,
  type PostureHistory,
} from '../api-types.js';
import { type Chart, chartSlot, seconds, timeChart } from '../chart.js';
import { fail, failQuietly } from '../failure.js';
import { gradeBadge, num, plural, severityBadge, time } from '../format.js';
import { h, replace } from '../h.js';
import { checkTitle, deviceLink, figure, figures, note, pageTitle, section } from '../parts.js';
import { dataTable } from '../table.js';
import { throttle, type ViewContext } from '../view.js';

const RANGES = [
  { value: '7h', label: 'Last 7 days, by hour', days: 7, resolution: 'hour' },
  { value: '30', label: 'Last 30 days', days: 30, resolution: 'day' },
  { value: '90', label: 'Last 90 days', days: 90, resolution: 'day' },
  { value: '365', label: 'Last year', days: 365, resolution: 'day' },
] as const;
type Range = (typeof RANGES)[number];

/** The start of the UTC day `days - 1` days ago: `days` daily periods up to today. */
function sinceFor(range: Range, now = new Date()): string {
  if (range.resolution === 'hour') return new Date(now.getTime() - range.days * 86_400_000).toISOString();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (range.days - 1))).toISOString();
}

export async function overviewView(ctx: ViewContext): Promise<void> {
  const { signal } = ctx;
  const reports = ctx.can('reports:read');
  const telemetry = ctx.can('telemetry:read');
  const events = ctx.can('events:read');
  let range: Range = RANGES[3];

  const history = () =>
    api<PostureHistory>(`/posture/history${query({ resolution: range.resolution, since: sinceFor(range) })}`, {
      signal,
    });
  const [overview, posture, postureHistory, telemetryHours, eventHours] = await Promise.all([
    api<Overview>('/overview', { signal }),
    reports ? api<Posture>('/posture?worst=10', { signal }) : null,
    reports ? history() : null,
    telemetry ? api<HourlyTelemetry>('/telemetry/hourly?hours=24', { signal }) : null,
    events ? api<HourlyEvents>('/events/hourly?hours=24', { signal }) : null,
  ]);

  const { devices, certificates } = overview;
  const connections = h('span', null, String(overview.connections));
  const deviceFigures = figures(
    figure('Devices', String(devices.total), 'devices-total', `${num(devices.revoked)} revoked`),
    figure('Online', String(devices.online), 'devices-online'),
    figure('Offline', String(devices.offline), 'devices-offline'),
    figure('Live connections', connections, 'connections'),
    figure(
      'Certificates expiring',
      String(certificates.expiring),
      'certs-expiring',
      `within ${plural(certificates.withinDays, 'day')}`,
    ),
  );
  const certTable = dataTable(
    {
      caption: `Certificates expiring soonest (within ${certificates.withinDays} days)`,
      name: 'expiring-certificates',
      columns: [
        { label: 'Device', value: (r) => r.deviceId, cell: (r) => deviceLink(r.deviceId), rowHeader: true },
        { label: 'Serial', value: (r) => r.serial, cell: (r) => h('code', null, r.serial) },
        { label: 'Expires', value: (r) => r.notAfter, cell: (r) => time(r.notAfter) },
      ],
      empty: `No certificate expires within ${certificates.withinDays} days.`,
    },
    certificates.soonest,
  );

  const postureFigures = h('div');
  const postureTables = h('div', { class: 'two-up' });
  const historySlot = chartSlot();
  const activitySlot = chartSlot();
  ctx.onCleanup(historySlot.destroy);
  ctx.onCleanup(activitySlot.destroy);

  const drawPosture = (p: Posture) => {
    replace(
      postureFigures,
      figures(
        figure(
          'Average score',
          p.averageScore === null ? '—' : String(Math.round(p.averageScore * 10) / 10),
          'average-score',
          'of 100',
        ),
        figure('Reporting devices', num(p.devices), 'devices-reporting', `${num(p.unreported)} never reported`),
        ...GRADES.map((g) => figure(`Grade ${g}`, String(p.grades[g]), `grade-${g}`, gradeBadge(g))),
      ),
    );
    replace(
      postureTables,
      dataTable(
        {
          caption: 'Worst devices (latest report)',
          name: 'worst-devices',
          columns: [
            { label: 'Device', value: (r) => r.deviceId, cell: (r) => deviceLink(r.deviceId), rowHeader: true },
            { label: 'Grade', value: (r) => r.grade, cell: (r) => gradeBadge(r.grade) },
            { label: 'Score', value: (r) => r.score, numeric: true },
            { label: 'Findings', value: (r) => r.findings, numeric: true },
            { label: 'Reported', value: (r) => r.at, cell: (r) => time(r.at) },
          ],
          empty: 'No device has reported yet.',
        },
        p.worst,
      ).element,
      dataTable(
        {
          caption: 'Most widespread findings',
          name: 'common-findings',
          columns: [
            {
              label: 'Finding',
              value: (r) => r.check,
              cell: (r) => h('a', { href: `#/checks/${encodeURIComponent(r.check)}` }, h('code', null, r.check)),
              rowHeader: true,
            },
            { label: 'Title', value: (r) => checkTitle(r.check) },
            { label: 'Severity', value: (r) => r.severity, cell: (r) => severityBadge(r.severity) },
            { label: 'Devices', value: (r) => r.devices, numeric: true },
            {
              label: 'Remediation',
              value: (r) => `#/checks/${r.check}`,
              cell: (r) =>
                h(
                  'a',
                  { href: `#/checks/${encodeURIComponent(r.check)}` },
                  'How to fix',
                  h('span', { class: 'visually-hidden' }, ` ${r.check}`),
                ),
            },
          ],
          empty: 'No findings.',
        },
        p.commonFindings,
      ).element,
    );
  };

  const drawHistory = (hist: PostureHistory) => {
    const periods = hist.periods;
    const x = periods.map((p) => seconds(p.start));
    const byHour = hist.resolution === 'hour';
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
      ? `On ${when(latest.start)}${latest.partial ? ' (so far)' : ''}: ` +
        GRADES.map((g) => `${latest.grades[g]} grade ${g}`).join(', ') +
        '.'
      : 'No periods.';
    const table = dataTable(
      {
        caption: `Fleet exposure ${byHour ? 'per hour' : 'per day'}`,
        name: 'posture-history',
        columns: [
          {
            label: byHour ? 'Hour (UTC)' : 'Day (UTC)',
            value: (p) => p.start,
            cell: (p) => `${when(p.start)}${p.partial ? ' (so far)' : ''}`,
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
    historySlot.show(
      timeChart({
        title: 'Fleet exposure score over time',
        summary: scoreSummary,
        x,
        series: [{ label: 'Average score', color: '--accent', values: periods.map((p) => p.averageScore) }],
        y: { min: 0, max: 100 },
        table: table.element,
        testid: 'chart-score',
      }),
      timeChart({
        title: `Grade distribution ${byHour ? 'per hour' : 'per day'}`,
        summary: gradeSummary,
        x,
        series: gradeSeries,
        testid: 'chart-grades',
      }),
    );
  };

  const drawActivity = (t: HourlyTelemetry | null, e: HourlyEvents | null) => {
    const parts: Chart[] = [];
    const hourLabel = (iso: string) => `${iso.slice(0, 13).replace('T', ' ')}:00`;
    if (t) {
      const total = t.hours.reduce((s, x) => s + x.samples, 0);
      const peak = t.hours.reduce((m, x) => Math.max(m, x.samples), 0);
      parts.push(
        timeChart({
          title: 'Telemetry samples per hour',
          summary: `${num(total)} samples in the last ${t.hours.length} hours; at most ${num(peak)} in an hour.`,
          x: t.hours.map((x) => seconds(x.hour)),
          series: [{ label: 'Samples', color: '--accent', values: t.hours.map((x) => x.samples), kind: 'bars' }],
          height: 180,
          testid: 'chart-telemetry',
          table: dataTable(
            {
              caption: 'Telemetry samples per hour',
              name: 'telemetry-hourly',
              columns: [
                { label: 'Hour (UTC)', value: (x) => x.hour, cell: (x) => hourLabel(x.hour), rowHeader: true },
                { label: 'Samples', value: (x) => x.samples, numeric: true },
              ],
            },
            [...t.hours].reverse(),
          ).element,
        }),
      );
    }
    if (e) {
      const total = e.hours.reduce((s, x) => s + x.events, 0);
      parts.push(
        timeChart({
          title: 'Security events per hour',
          summary: `${plural(total, 'security event')} in the last ${e.hours.length} hours.`,
          x: e.hours.map((x) => seconds(x.hour)),
          series: [{ label: 'Events', color: '--warn', values: e.hours.map((x) => x.events), kind: 'bars' }],
          height: 180,
          testid: 'chart-events',
          table: dataTable(
            {
              caption: 'Security events per hour',
              name: 'events-hourly',
              columns: [
                { label: 'Hour (UTC)', value: (x) => x.hour, cell: (x) => hourLabel(x.hour), rowHeader: true },
                { label: 'Events', value: (x) => x.events, numeric: true },
              ],
            },
            [...e.hours].reverse(),
          ).element,
        }),
      );
    }
    activitySlot.show(...parts);
  };

  const rangeSelect = h(
    'select',
    { id: 'posture-range' },
    RANGES.map((r) => h('option', { value: r.value, selected: r === range }, r.label)),
  );
  rangeSelect.addEventListener('change', () => {
    range = RANGES.find((r) => r.value === rangeSelect.value) ?? RANGES[3];
    history().then(drawHistory, fail);
  });

  replace(
    ctx.main,
    pageTitle('Fleet overview'),
    h('p', { class: 'subtitle' }, 'As of ', time(overview.at)),
    section('Devices', deviceFigures, certTable.element),
    reports
      ? section(
          'Exposure',
          postureFigures,
          h('div', { class: 'controls' }, h('label', { for: 'posture-range' }, 'Period'), rangeSelect),
          historySlot.element,
          postureTables,
        )
      : note('Your role cannot read exposure reports.'),
    telemetry || events ? section('Last 24 hours', activitySlot.element) : null,
  );
  if (posture) drawPosture(posture);
  if (postureHistory) drawHistory(postureHistory);
  drawActivity(telemetryHours, eventHours);
  ctx.ready('overview');

  ctx.onLive('connections', (d) => {
    connections.textContent = String(d.count);
  });
  if (reports) {
    const refresh = throttle(ctx, 3000, () => {
      api<Posture>('/posture?worst=10', { signal }).then(drawPosture, failQuietly);
    });
    ctx.onLive('report', refresh);
  }
  if (events) {
    const refresh = throttle(ctx, 10_000, () => {
      api<HourlyEvents>('/events/hourly?hours=24', { signal }).then(
        (e) => drawActivity(telemetryHours, e),
        failQuietly,
      );
    });
    ctx.onLive('security', refresh);
  }
}
