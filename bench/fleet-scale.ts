// bench/fleet-scale: the largest fleet one fleet server holds on this machine at a steady 10 s telemetry
// interval with p99 end-to-end latency under 500 ms — simulator and server on the same (2-core) machine.
// For each step N it starts `fleet serve` (dist/fleet.js), runs `fleet-sim run --scenario steady` (dist/fleet-sim.js,
// 2 worker processes) with N devices, holds the fleet for --hold seconds after every device is connected, and stops
// at the first N that misses p99 < 500 ms, loses a sample or does not connect every device. Reports memory per
// virtual device and the server's RSS, beside the peer measurement (bare aedes + MQTT.js over mTLS).
// Run: node --import tsx bench/fleet-scale.ts [--quick] [--steps 1000,2500,5000,…,17500,19000] [--hold 40]
//      [--ramp 250] [--interval 10] [--workers 2] [--data DIR] [--keep-going]
// The data folder (default $TMPDIR/edgeward-bench-fleet-scale) is kept: identities are issued once, reruns start
// at once.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SimResult } from '../simulator/src/index.js';
import { ensureBuilt, fmt, loadAverage, root, runToEnd, startProc, waitForPort } from './lib/procs.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    steps: { type: 'string' },
    hold: { type: 'string' },
    ramp: { type: 'string', default: '250' },
    interval: { type: 'string', default: '10' },
    workers: { type: 'string', default: '2' },
    p99: { type: 'string', default: '500' },
    data: { type: 'string', default: join(tmpdir(), 'edgeward-bench-fleet-scale') },
    'keep-going': { type: 'boolean', default: false },
  },
});
const steps = (values.steps ?? (values.quick ? '500,1000' : '1000,2500,5000,7500,10000,12500,15000,17500,19000'))
  .split(',')
  .map(Number);
const hold = Number(values.hold ?? (values.quick ? 10 : 40));
const p99Limit = Number(values.p99);
const data = values.data!;
// Peer: bare aedes + MQTT.js over mTLS (P-256), 5,000 clients, measured on this machine (docs: pitfalls).
const PEER = { clients: 5000, clientKB: 98, brokerMB: 332, connectS: 15 };

ensureBuilt();
const node = process.execPath;
const fleet = async (args: string[]) => {
  const r = await runToEnd(node, [`${root}dist/fleet.js`, ...args]);
  if (r.code !== 0) throw new Error(`fleet ${args.join(' ')} failed (exit ${r.code})`);
};
if (!existsSync(join(data, 'pki', 'ca.crt'))) await fleet(['pki', 'init', '--data', data]);
// Issued once for the largest step, by the same bulk path an operator uses; the simulator finds them in DATA/sim.
console.log(`issuing up to ${fmt(Math.max(...steps))} identities (once; kept in ${data}/sim) …`);
await fleet([
  'device',
  'add',
  '--bulk',
  String(Math.max(...steps)),
  '--prefix',
  'sim-',
  '--data',
  data,
  '--out',
  join(data, 'sim'),
]);

// Per-address connection limits raised: 250 loopback addresses carry the whole fleet, and reruns reconnect.
const config = join(data, 'bench-fleet.json');
writeFileSync(
  config,
  JSON.stringify({ limits: { connectionsPerMinutePerAddress: 60_000, connectionBurstPerAddress: 5_000 } }),
);

interface Row {
  n: number;
  r: SimResult | undefined;
  serverPeak: number;
  serverBase: number;
  load: number;
  pass: boolean;
  why: string;
}
const rows: Row[] = [];
mkdirSync(join(data, 'results'), { recursive: true });

for (const n of steps) {
  const port = 19100 + Math.floor(Math.random() * 800);
  const server = startProc(node, [
    `${root}dist/fleet.js`,
    'serve',
    '--data',
    data,
    '--config',
    config,
    '--mqtt-port',
    String(port),
    '--http-port',
    String(port + 1),
    '--log-level',
    'error',
  ]);
  let row: Row;
  try {
    await waitForPort(port);
    await waitForPort(port + 1);
    await new Promise((r) => setTimeout(r, 500));
    const serverBase = server.rss();
    const load = loadAverage();
    const json = join(data, 'results', `steady-${n}.json`);
    console.log(`\n── ${fmt(n)} devices (load average ${load.toFixed(2)}) ──`);
    const sim = await runToEnd(node, [
      `${root}dist/fleet-sim.js`,
      'run',
      '--server',
      `mqtts://127.0.0.1:${port}`,
      '--server-api',
      `https://127.0.0.1:${port + 1}`,
      '--data',
      data,
      '--devices',
      String(n),
      '--scenario',
      'steady',
      '--duration',
      `${hold}s`,
      '--telemetry-interval',
      `${values.interval}s`,
      '--ramp',
      `${values.ramp}/s`,
      '--workers',
      String(values.workers),
      '--json',
      json,
    ]);
    const r = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as SimResult) : undefined;
    const serverPeak = server.peakRss();
    const why = !r
      ? `no result (fleet-sim exit ${sim.code})`
      : r.connectSeconds === null
        ? `only ${r.connected} of ${n} connected at once`
        : r.lost > 0
          ? `${r.lost} samples lost`
          : r.latencyMs.p99 >= p99Limit || r.ackLatencyMs.p99 >= p99Limit
            ? `p99 ${Math.max(r.latencyMs.p99, r.ackLatencyMs.p99)} ms ≥ ${p99Limit} ms`
            : '';
    row = { n, r, serverPeak, serverBase, load, pass: why === '', why: why || 'pass' };
    rows.push(row);
    process.stdout.write(sim.stdout);
  } finally {
    await server.stop();
  }
  if (!row.pass && !values['keep-going']) break;
}

const kb = (b: number) => fmt(b / 1024);
const mb = (b: number) => fmt(b / 1048576);
console.log(
  `\nfleet-scale: steady ${values.interval} s telemetry, mTLS per device, ${values.workers} simulator workers, ramp ` +
    `${values.ramp}/s, hold ${hold} s; pass = every device connected, 0 lost, p99 < ${p99Limit} ms\n`,
);
const head = [
  'devices',
  'connect s',
  'conn/s',
  'msg/s',
  'e2e p50',
  'e2e p99',
  'ack p99',
  'lost',
  'errors',
  'sim MB',
  'sim KB/dev',
  'srv MB',
  'srv KB/dev',
  'load',
  'result',
];
const table = rows.map(({ n, r, serverPeak, serverBase, load, why }) => [
  fmt(n),
  r?.connectSeconds === null || !r ? '—' : fmt(r.connectSeconds, 1),
  r ? fmt(r.connectRate.mean) : '—',
  r ? fmt(r.messagesPerSecond) : '—',
  r ? fmt(r.latencyMs.p50) : '—',
  r ? fmt(r.latencyMs.p99) : '—',
  r ? fmt(r.ackLatencyMs.p99) : '—',
  r ? fmt(r.lost) : '—',
  r ? fmt(Object.values(r.errors).reduce((a, b) => a + b, 0)) : '—',
  r ? mb(r.memory.simulatorRssBytes) : '—',
  r ? kb(r.memory.perDeviceBytes) : '—',
  mb(serverPeak),
  kb((serverPeak - serverBase) / n),
  load.toFixed(2),
  why,
]);
const widths = head.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
console.log(head.map((h, i) => h.padStart(widths[i]!)).join('  '));
for (const t of table) console.log(t.map((c, i) => (i === t.length - 1 ? c : c.padStart(widths[i]!))).join('  '));
const best = rows.filter((x) => x.pass).at(-1);
console.log('');
console.log(
  `largest fleet holding a ${values.interval} s interval with p99 < ${p99Limit} ms: ` +
    `${best ? `${fmt(best.n)} devices` : 'none of the steps'} (target ≥ 10,000)`,
);
if (best?.r) {
  console.log(
    `  simulator ${kb(best.r.memory.perDeviceBytes)} KB per virtual device (the real agent + MQTT.js + TLS), server ` +
      `${mb(best.serverPeak)} MB RSS (${kb((best.serverPeak - best.serverBase) / best.n)} KB per device)`,
  );
}
console.log(
  `  peer, bare aedes + MQTT.js over mTLS, ${fmt(PEER.clients)} clients: ${PEER.clientKB} KB per client, ` +
    `${PEER.brokerMB} MB broker RSS, about ${PEER.connectS} s to connect`,
);
console.log(
  'e2e = sample made on the device → row received by the server (server clock); ack = sample made → committed ' +
    'and PUBACK back at the device.',
);
