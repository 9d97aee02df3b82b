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
import { chartSlot } from '../chart.js';
import { fail, failQuietly } from '../failure.js';
import { gradeBadge, num, plural, severityBadge, time } from '../format.js';
import { h, replace } from '../h.js';
import { checkTitle, deviceLink, figure, figures, note, pageTitle, section } from '../parts.js';
import { dataTable } from '../table.js';
import { throttle, type ViewContext } from '../view.js';
import { hourlyChart } from './overview-activity.js';
import { historyCharts, RANGES, type Range, sinceFor } from './overview-history.js';

export async function overviewView(ctx: ViewContext): Promise<void> {
  const { signal } = ctx;
  const reports = ctx.can('reports:read');
  const telemetry = ctx.can('telemetry:read');
  const events = ctx.can('events:read');
  let range: Range = RANGES[3];

  const history = () =>
    // checks=false: the trend needs the averages and grades only, not each period's count per check (5× the bytes).
    api<PostureHistory>(
      `/posture/history${query({ resolution: range.resolution, since: sinceFor(range), checks: 'false' })}`,
      { signal },
    );
  const [overview, posture, postureHistory, telemetryHours, eventHours] = await Promise.all([
    api<Overview>('/overview', { signal }),
    reports ? api<Posture>('/posture?worst=10', { signal }) : null,
    reports ? history() : null,
    telemetry ? api<HourlyTelemetry>('/telemetry/hourly?hours=24', { signal }) : null,
    events ? api<HourlyEvents>('/events/hourly?hours=24', { signal }) : null,
  ]);

  const { devices, certificates } = overview;
  const connections = h('span', null, String(overview.connections));
  const online = h('span', null, String(devices.online));
  const offline = h('span', null, String(devices.offline));
  const deviceFigures = figures(
    figure('Devices', String(devices.total), 'devices-total', `${num(devices.revoked)} revoked`),
    figure('Online', online, 'devices-online'),
    figure('Offline', offline, 'devices-offline'),
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

  const drawHistory = (hist: PostureHistory) => historySlot.show(...historyCharts(hist));

  const drawActivity = (t: HourlyTelemetry | null, e: HourlyEvents | null) =>
    activitySlot.show(
      t
        ? hourlyChart({
            title: 'Telemetry samples per hour',
            name: 'telemetry-hourly',
            what: ['sample', 'samples'],
            label: 'Samples',
            color: '--accent',
            hours: t.hours.map((x) => ({ hour: x.hour, count: x.samples })),
          })
        : null,
      e
        ? hourlyChart({
            title: 'Security events per hour',
            name: 'events-hourly',
            what: ['security event', 'security events'],
            label: 'Events',
            color: '--warn',
            hours: e.hours.map((x) => ({ hour: x.hour, count: x.events })),
          })
        : null,
    );

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

  // A device came or went: the count at once, online and offline from the server (a session is not yet the
  // registry's online flag, so they are read again, at most every 3 s).
  const refreshDevices = throttle(ctx, 3000, () => {
    api<Overview>('/overview', { signal }).then((o) => {
      online.textContent = String(o.devices.online);
      offline.textContent = String(o.devices.offline);
    }, failQuietly);
  });
  ctx.onLive('connections', (d) => {
    connections.textContent = String(d.count);
    refreshDevices();
  });
  if (reports) {
    const refresh = throttle(ctx, 3000, () => {
      api<Posture>('/posture?worst=10', { signal }).then(drawPosture, failQuietly);
    });
    // The trend's last point (today, so far) moves with new reports too; it costs more, so every 30 s at most.
    const refreshHistory = throttle(ctx, 30_000, () => {
      history().then(drawHistory, failQuietly);
    });
    ctx.onLive('report', () => {
      refresh();
      refreshHistory();
    });
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
