// The summary table printed at the end of a run: what a person reads; --json has the same numbers for machines.
import type { Latency, SimResult } from './result.js';

const n = (v: number) => Math.round(v).toLocaleString('en-US');
const lat = (l: Latency) =>
  l.count === 0
    ? 'no samples'
    : `p50 ${n(l.p50)} ms   p99 ${n(l.p99)} ms   max ${n(l.max)} ms   (${n(l.count)} samples)`;
const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
const kinds = (c: Readonly<Record<string, number>>) =>
  Object.keys(c).length === 0
    ? 'none'
    : Object.entries(c)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ');

export function renderSummary(r: SimResult): string {
  const rows: [string, string][] = [
    ['scenario', `${r.scenario}   ${r.server}   ${r.durationSeconds} s measured`],
    [
      'devices',
      `${n(r.devices)} (${r.workers === 0 ? 'in this process' : `${r.workers} worker processes`})` +
        (r.telemetryIntervalSeconds
          ? `, telemetry every ${r.telemetryIntervalSeconds} s`
          : ', as fast as acknowledged'),
    ],
    [
      'connected (peak)',
      `${n(r.connected)}${r.connectSeconds === null ? ' (never all at once)' : ` — all in ${r.connectSeconds} s`}   ` +
        `mean ${n(r.connectRate.mean)}/s, peak ${n(r.connectRate.peak)}/s`,
    ],
    [
      'telemetry samples',
      `sent ${n(r.messagesSent)}   stored ${n(r.messagesStored)} (server rows)   lost ${n(r.lost)}   ` +
        `resent ${n(r.duplicates)}`,
    ],
    ['throughput', `${n(r.messagesPerSecond)} samples/s acknowledged`],
    ['latency, e2e', `${lat(r.latencyMs)}   (sample made → row received, server clock)`],
    ['latency, to PUBACK', `${lat(r.ackLatencyMs)}   (sample made → committed and acknowledged)`],
    ['errors', kinds(r.errors)],
    ['disconnects', n(r.disconnects)],
    ['exposure reports', `sent ${n(r.exposureReports.sent)}   stored ${n(r.exposureReports.stored)}`],
    [
      'memory',
      `simulator ${mb(r.memory.simulatorRssBytes)} RSS, ${(r.memory.perDeviceBytes / 1024).toFixed(0)} KB per ` +
        `device${r.memory.serverRssBytes ? `; server ${mb(r.memory.serverRssBytes)} RSS` : ''}`,
    ],
  ];
  if (Object.keys(r.commandAcks).length > 0) rows.push(['command acks', kinds(r.commandAcks)]);
  if (r.reconnectSeconds !== undefined) {
    rows.push([
      'reconnect storm',
      (r.reconnectSeconds === null ? 'not every device came back' : `every device back after ${r.reconnectSeconds} s`) +
        `   peak ${n(r.reconnectPeakRate ?? 0)} connects/s   outage ${r.outageMs ?? 0} ms`,
    ]);
  }
  if (r.phases) {
    for (const [name, p] of Object.entries(r.phases))
      rows.push([
        `latency, ${name}`,
        `e2e p99 ${n(p.latencyMs.p99)} ms   PUBACK p99 ${n(p.ackLatencyMs.p99)} ms   ` +
          `(${n(p.ackLatencyMs.count)} samples)`,
      ]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  if (r.attempts && r.denied) {
    lines.push('', `  ${'attack action'.padEnd(22)} ${'attempts'.padStart(9)} ${'denied'.padStart(8)}`);
    for (const [a, tries] of Object.entries(r.attempts))
      lines.push(
        `  ${a.padEnd(22)} ${n(tries).padStart(9)} ` +
          `${n(r.denied[a] ?? 0).padStart(8)}${tries > 0 && r.denied[a] === tries ? '' : '   ← NOT ALL DENIED'}`,
      );
    if (r.audited) lines.push(`  audited: ${kinds(r.audited)}`);
  }
  lines.push('');
  for (const i of r.invariants) lines.push(`  ${i.ok ? 'ok  ' : 'FAIL'} ${i.name.padEnd(34)} ${i.detail}`);
  lines.push('', `  result: ${r.ok ? 'every invariant held' : 'INVARIANTS FAILED'}`);
  return `${lines.join('\n')}\n`;
}
