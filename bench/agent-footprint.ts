// bench/agent-footprint: the built agent (dist/iot-agent.js) connected to a local `fleet serve` and idle,
// next to a bare `node -e` idle process started at the same moment. Reports RSS, average CPU over the idle
// window, cold start (spawn → first telemetry acknowledged by the broker) and the bundle size, with targets.
// Run: node --import tsx bench/agent-footprint.ts [--seconds 60] [--no-build]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fleetSync, fmt, root, startProc, waitForPort, type Proc } from './lib/procs.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    'no-build': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const MiB = 1024 * 1024;

if (!values['no-build']) {
  const r = spawnSync(process.execPath, [`${root}scripts/build.mjs`, '--quiet'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('build failed');
}

const clkTck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** utime + stime of a process, in seconds (proc(5) fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / clkTck;
}

const work = mkdtempSync(join(tmpdir(), 'edgeward-footprint-'));
const data = join(work, 'data');
const dev = join(work, 'bench-001');
fleetSync(['pki', 'init', '--data', data]);
fleetSync(['device', 'add', 'bench-001', '--data', data, '--out', dev]);

const mqttPort = await freePort();
const httpPort = await freePort();
const server = startProc(process.execPath, [
  `${root}dist/fleet.js`,
  'serve',
  '--data',
  data,
  '--mqtt-port',
  String(mqttPort),
  '--http-port',
  String(httpPort),
  '--log-level',
  'warn',
]);
await waitForPort(mqttPort);

const configFile = join(dev, 'agent.json');
writeFileSync(
  configFile,
  JSON.stringify({
    server: `mqtts://127.0.0.1:${mqttPort}`,
    deviceId: 'bench-001',
    cert: 'device.crt',
    key: 'device.key',
    ca: 'ca.crt',
    stateDir: 'state',
    telemetryIntervalSeconds: 10,
    // As deployed, the agent scans its own exposure at start (here: the ports this bench opened).
    scan: { ports: `${mqttPort},${httpPort}` },
    log: { level: 'info', format: 'json' },
  }),
);

// Both processes start together, so they see the same machine load.
const bare = startProc(process.execPath, ['-e', 'setInterval(() => {}, 1e9)']);
const t0 = performance.now();
const agent = startProc(process.execPath, [`${root}dist/iot-agent.js`, 'run', '--config', configFile]);

async function firstAck(p: Proc): Promise<{ wallMs: number; inProcessMs: number }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const line = p
      .output()
      .split('\n')
      .find((l) => l.includes('"first telemetry acknowledged"'));
    if (line)
      return {
        wallMs: performance.now() - t0,
        inProcessMs: (JSON.parse(line) as { msSinceStart: number }).msSinceStart,
      };
    if (p.child.exitCode !== null) throw new Error(`agent exited: ${p.output()}`);
    if (Date.now() > deadline) throw new Error(`no acknowledged telemetry within 30 s: ${p.output()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Sampled {
  rssAvg: number;
  rssMax: number;
  peak: number;
  cpuPct: number;
}

let result: { agent: Sampled; bare: Sampled; ack: { wallMs: number; inProcessMs: number } } | undefined;
try {
  const ack = await firstAck(agent);
  process.stdout.write(
    `agent connected; first telemetry acknowledged ${fmt(ack.wallMs)} ms after spawn. Sampling both ` +
      `for ${seconds} s…\n`,
  );
  const procs = { agent, bare };
  const cpu0 = { agent: cpuSeconds(agent.child.pid!), bare: cpuSeconds(bare.child.pid!) };
  const w0 = performance.now();
  const rss: Record<'agent' | 'bare', number[]> = { agent: [], bare: [] };
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    for (const k of ['agent', 'bare'] as const) rss[k].push(procs[k].rss());
  }
  const elapsed = (performance.now() - w0) / 1000;
  const sampled = (k: 'agent' | 'bare'): Sampled => ({
    rssAvg: rss[k].reduce((a, b) => a + b, 0) / rss[k].length,
    rssMax: Math.max(...rss[k]),
    peak: procs[k].peakRss(),
    cpuPct: ((cpuSeconds(procs[k].child.pid!) - cpu0[k]) / elapsed) * 100,
  });
  result = { agent: sampled('agent'), bare: sampled('bare'), ack };
} finally {
  await agent.stop('SIGTERM');
  await bare.stop('SIGKILL');
  await server.stop('SIGTERM');
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}

const bundle = statSync(`${root}dist/iot-agent.js`).size;
const { agent: a, bare: b, ack } = result;
const rssDelta = a.rssAvg - b.rssAvg;
const row = (name: string, agentV: string, bareV: string, target: string, ok: boolean | null) =>
  `${name.padEnd(34)} ${agentV.padStart(12)} ${bareV.padStart(12)}   ${target.padEnd(26)} ` +
  `${ok === null ? '' : ok ? 'PASS' : 'FAIL'}`;
const lines = [
  '',
  `agent footprint — ${seconds} s idle window, connected to fleet serve on loopback, telemetry every 10 s (node ` +
    `${process.version}, ${clkTck} ticks/s)`,
  row('', 'iot-agent', 'bare node', 'target', null),
  row(
    'RSS, average over the window (MiB)',
    fmt(a.rssAvg / MiB, 1),
    fmt(b.rssAvg / MiB, 1),
    `≤ bare + 25 MiB (+${fmt(rssDelta / MiB, 1)})`,
    rssDelta <= 25 * MiB,
  ),
  row('RSS, highest sample (MiB)', fmt(a.rssMax / MiB, 1), fmt(b.rssMax / MiB, 1), '', null),
  row('RSS, peak since start (VmHWM, MiB)', fmt(a.peak / MiB, 1), fmt(b.peak / MiB, 1), '', null),
  row('CPU, average over the window (%)', fmt(a.cpuPct, 2), fmt(b.cpuPct, 2), '< 1 %', a.cpuPct < 1),
  row('cold start → first ack (ms, wall)', fmt(ack.wallMs), '-', '≤ 1000 ms on loopback', ack.wallMs <= 1000),
  row('  of which inside the process (ms)', fmt(ack.inProcessMs), '-', '', null),
  row('bundle dist/iot-agent.js (KiB)', fmt(bundle / 1024), '-', 'report', null),
  '',
];
process.stdout.write(lines.join('\n'));
