// A device (#/devices/ID): its state, certificate and last contact; telemetry over a chosen time range; the
// exposure score history and the latest findings with evidence and remediation; the commands sent to it, who
// signed each and its result. A new report arrives live.
import { api, query } from '../api.js';
import type { Command, Device, DeviceReport, Page, ReportSummary } from '../api-types.js';
import { seconds, timeChart, type Chart } from '../chart.js';
import { failQuietly } from '../failure.js';
import { deviceState, gradeBadge, num, plural, relative, severityBadge, stateBadge, time } from '../format.js';
import { h, replace } from '../h.js';
import { checkLink, figure, figures, note, pageTitle, section } from '../parts.js';
import { type DataTable, dataTable, type Pager, pager } from '../table.js';
import { throttle, type ViewContext } from '../view.js';
import { telemetryPart } from './device-telemetry.js';

const HISTORY = 100;

export async function deviceView(ctx: ViewContext): Promise<void> {
  const { signal } = ctx;
  const id = decodeURIComponent(ctx.params[0] ?? '');
  const device = await api<Device>(`/devices/${encodeURIComponent(id)}`, { signal });
  const reports = ctx.can('reports:read');
  const commands = ctx.can('commands:read');
  const report = reports
    ? await api<DeviceReport>(`/devices/${encodeURIComponent(id)}/report?history=${HISTORY}`, { signal })
    : null;

  const state = deviceState(device);
  const facts = figures(
    figure('Status', stateBadge(state), 'device-status'),
    figure(
      'Last seen',
      device.lastSeen ? time(device.lastSeen) : 'never',
      'device-last-seen',
      device.lastSeen ? relative(device.lastSeen) : null,
    ),
    figure('Last address', device.lastAddress ?? '—', 'device-address'),
    figure('Certificate', device.certificateSerial ? h('code', null, device.certificateSerial) : '—', 'device-cert'),
    figure(
      'Certificate expires',
      time(device.certificateExpires, 'date'),
      'device-cert-expires',
      device.certificateExpires ? relative(device.certificateExpires) : null,
    ),
    figure('Agent version', device.agentVersion ?? '—', 'device-agent'),
    // Firmware updates do not exist yet: the agent does not report a firmware version.
    figure('Firmware', '—', 'device-firmware'),
    figure('Type', device.type, 'device-type'),
    figure('Telemetry samples', num(device.telemetryCount), 'device-samples', `${num(device.dropped)} dropped`),
    figure('Rejected messages', num(device.rejectedCount), 'device-rejected'),
    figure('Registered', time(device.createdAt, 'date'), 'device-created'),
  );

  const charts = new Set<Chart>();
  ctx.onCleanup(() => {
    for (const c of charts) c.destroy();
  });

  const telemetry = ctx.can('telemetry:read') ? telemetryPart(ctx, id, charts) : null;
  const exposure = report ? exposurePart(ctx, report, charts) : null;

  let commandPages: Pager | null = null;
  let commandTable: DataTable<Command> | null = null;
  if (commands) {
    commandTable = dataTable<Command>({
      caption: 'Commands, newest first',
      name: 'commands',
      columns: [
        { label: 'Created', value: (c) => c.createdAt, cell: (c) => time(c.createdAt), rowHeader: true },
        { label: 'Command', value: (c) => c.command, cell: (c) => h('code', null, c.command) },
        {
          label: 'Parameters',
          value: (c) => JSON.stringify(c.params),
          cell: (c) => h('code', null, JSON.stringify(c.params)),
        },
        {
          label: 'Signed by',
          // The operator who holds the signing key; a key no operator holds is shown by its id.
          value: (c) => c.signedBy ?? c.operator,
          cell: (c) =>
            c.signedBy
              ? h('span', { title: `key ${c.operator}` }, c.signedBy)
              : h('span', null, 'key ', h('code', null, c.operator)),
        },
        { label: 'Result', value: (c) => c.status, cell: (c) => h('span', { class: `cmd cmd-${c.status}` }, c.status) },
        { label: 'Reason', value: (c) => [c.reason, c.detail].filter(Boolean).join(': ') || null },
        { label: 'Attempts', value: (c) => c.attempts, numeric: true },
        { label: 'Expires', value: (c) => c.expiresAt, cell: (c) => time(c.expiresAt) },
      ],
      empty: 'No commands were sent to this device.',
    });
    commandPages = pager(
      commandTable,
      (cursor) =>
        api<Page<Command>>(`/devices/${encodeURIComponent(id)}/commands${query({ limit: 50, cursor })}`, { signal }),
      { one: 'command', many: 'commands' },
    );
  }

  replace(
    ctx.main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/devices' }, 'Devices'), ' / '),
    pageTitle(`Device ${device.id}`, ' ', h('span', { class: 'title-badge' }, stateBadge(state))),
    ctx.can('events:read')
      ? h('p', null, h('a', { href: `#/events${query({ deviceId: device.id })}` }, 'Security events of this device'))
      : null,
    section('State', facts),
    telemetry ? section('Telemetry', telemetry.element) : null,
    exposure ? section('Exposure', exposure.element) : null,
    commandPages && commandTable ? section('Commands', commandPages.element, commandTable.element) : null,
  );
  await Promise.all([telemetry?.load(), exposure?.draw(), commandPages?.reset()]);
  ctx.ready('device');
  if (exposure) {
    ctx.onLive('report', (r) => {
      if (r.deviceId === id) exposure.live(r);
    });
  }
}

/** The score history (chart and table) and the latest report's findings. */
function exposurePart(ctx: ViewContext, initial: DeviceReport, charts: Set<Chart>) {
  let report = initial;
  const chartSlot = h('div', { class: 'charts' });
  const latestSlot = h('div');
  let chart: Chart | null = null;
  const history = dataTable<ReportSummary>(
    {
      caption: `Score history (the last ${HISTORY} reports, newest first)`,
      name: 'score-history',
      columns: [
        { label: 'Received', value: (r) => r.at, cell: (r) => time(r.at), rowHeader: true },
        { label: 'Grade', value: (r) => r.grade, cell: (r) => gradeBadge(r.grade) },
        { label: 'Score', value: (r) => r.score, numeric: true },
        { label: 'Findings', value: (r) => r.findings, numeric: true },
        { label: 'Device time', value: (r) => r.deviceTs, cell: (r) => time(r.deviceTs) },
      ],
      rowAttrs: () => ({ 'data-testid': 'score-row' }),
      scroll: true,
      empty: 'This device has not reported yet.',
    },
    report.history,
  );

  const drawChart = () => {
    if (chart) chart.destroy(), charts.delete(chart);
    const rows = [...history.rows].reverse();
    const last = history.rows[0];
    chart = timeChart({
      title: 'Exposure score over time',
      summary: last
        ? `${plural(rows.length, 'report')}; the latest scored ${last.score} (grade ${last.grade}), ` +
          `lowest ${Math.min(...rows.map((r) => r.score))}, highest ${Math.max(...rows.map((r) => r.score))}.`
        : 'No reports yet.',
      x: rows.map((r) => seconds(r.at)),
      series: [{ label: 'Score', color: '--accent', values: rows.map((r) => r.score) }],
      y: { min: 0, max: 100 },
      height: 200,
      testid: 'chart-device-score',
    });
    charts.add(chart);
    replace(chartSlot, chart.element);
  };

  const drawLatest = () => {
    const latest = report.latest;
    if (!latest) return replace(latestSlot, note('No exposure report yet.'));
    const categories = Object.entries(latest.categories).filter(([, v]) => v !== null);
    replace(
      latestSlot,
      figures(
        figure('Latest score', String(latest.score), 'device-score', gradeBadge(latest.grade)),
        ...categories.map(([c, v]) => figure(`${c[0]?.toUpperCase()}${c.slice(1)}`, String(v), `category-${c}`)),
        figure('Received', time(report.receivedAt), 'device-report-at'),
      ),
      latest.scan.truncated || latest.scan.timedOut
        ? note(`This scan was ${latest.scan.timedOut ? 'cut short by its time limit' : 'trimmed to fit'}.`, 'warn')
        : null,
      dataTable(
        {
          caption: 'Latest findings',
          name: 'findings',
          columns: [
            { label: 'Finding', value: (f) => f.check, cell: (f) => checkLink(f.check), rowHeader: true },
            { label: 'Severity', value: (f) => f.severity, cell: (f) => severityBadge(f.severity) },
            { label: 'Port', value: (f) => `${f.port}/${f.transport}` },
            { label: 'Evidence', value: (f) => f.evidence, cell: (f) => h('span', { class: 'evidence' }, f.evidence) },
            { label: 'Remediation', value: (f) => f.remediation },
          ],
          empty: 'No findings in the latest report.',
        },
        latest.findings,
      ).element,
    );
  };

  const refetch = throttle(ctx, 1500, () => {
    const path = `/devices/${encodeURIComponent(report.deviceId)}/report?history=${HISTORY}`;
    api<DeviceReport>(path, { signal: ctx.signal }).then((r) => {
      // The server's rows replace the ones the stream prepended (which lack the device's own time).
      report = r;
      history.setRows(r.history);
      drawChart();
      drawLatest();
    }, failQuietly);
  });

  return {
    element: h('div', null, chartSlot, history.element, h('h3', null, 'Latest report'), latestSlot),
    async draw() {
      drawChart();
      drawLatest();
    },
    live(r: { score: number; grade: string; findings: number; at: string }) {
      history.prepend({ at: r.at, deviceTs: r.at, score: r.score, grade: r.grade, findings: r.findings });
      drawChart();
      refetch();
    },
  };
}
