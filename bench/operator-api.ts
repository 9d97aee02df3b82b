// bench/operator-api: an authenticated `GET /api/v1/devices?limit=100` on a fleet of 10,000 registered devices,
// from 50 concurrent keep-alive clients, against the same page of the same SQLite rows served by a bare node:https
// handler (bench/lib/bare-devices-server.ts), in one run; then the MQTT telemetry throughput of the same fleet
// server (the simulator's `throughput` scenario, as bench/broker-throughput) alone and while the API is loaded.
// Targets (issue 14): authenticated throughput ≥ 0.7× the bare handler's; p99 < 50 ms at 50 clients; MQTT ingest
// at most 10% slower while the API is loaded.
// Run: node --import tsx bench/operator-api.ts [--devices 10000] [--clients 50] [--seconds 10] [--rounds 2]
//      [--api-rate 200] [--mqtt-clients 50] [--mqtt-rounds 3] [--profile DIR]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { createApiClient } from '../broker/src/admin/api-client.js';
import { openDb } from '../broker/src/db/open.js';
import { createRegistry } from '../broker/src/db/registry.js';
import { createSimulator, emptyServerView } from '../simulator/src/index.js';
import {
  ensureBuilt,
  fleetSync,
  fmt,
  loadAverage,
  median,
  root,
  runToEnd,
  serveArgs,
  startProc,
  UNTHROTTLED_DEVICES,
  waitForPort,
} from './lib/procs.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    clients: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    /** The API load while MQTT is measured, in requests per second (0: as fast as answered). */
    'api-rate': { type: 'string', default: '200' },
    'mqtt-clients': { type: 'string', default: '50' },
    /** Rounds of MQTT alone, beside the paced API and beside the paced bare handler. */
    'mqtt-rounds': { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    /** Write the fleet server's CPU profiles (node --cpu-prof) into this folder. */
    profile: { type: 'string' },
  },
});
const devices = Number(values.devices);
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const roundCount = Number(values.rounds);
const apiRate = Number(values['api-rate']);
const mqttClients = Number(values['mqtt-clients']);
const mqttRounds = Math.max(1, Number(values['mqtt-rounds']));

ensureBuilt();
const work = mkdtempSync(join(tmpdir(), 'edgeward-bench-api-'));
const data = join(work, 'data');

process.stderr.write(`registering ${fmt(devices)} devices …\n`);
fleetSync(['pki', 'init', '--data', data]);
fleetSync(['operator', 'add', 'bench', '--role', 'admin', '--data', data, '--out', join(work, 'bench.key')]);
fleetSync([
  'device',
  'add',
  '--bulk',
  String(mqttClients),
  '--prefix',
  'sim-',
  '--data',
  data,
  '--out',
  join(data, 'sim'),
]);
{
  // The listed fleet: registry rows with certificate facts (no X.509 work: what is read is the same).
  const db = openDb(join(data, 'fleet.db'));
  const registry = createRegistry(db);
  const now = Date.now();
  db.transaction(() => {
    for (let i = 1; i <= devices; i++) {
      const id = `gw-${String(i).padStart(5, '0')}`;
      const serial = i.toString(16).padStart(32, '0');
      registry.addDevice(id, 'default', {
        serial,
        fingerprint256: serial,
        notBefore: now,
        notAfter: now + 365 * 86_400_000,
      });
    }
  })();
  db.close();
}

const configFile = join(work, 'fleet.json');
writeFileSync(
  configFile,
  JSON.stringify({
    // Limits above the offered load: what is measured is the cost of checking each request, not throttling.
    api: { requestsPerMinutePerAddress: 1_000_000, requestsPerMinutePerOperator: 1_000_000 },
    deviceTypes: UNTHROTTLED_DEVICES,
  }),
);

const port = 19400 + Math.floor(Math.random() * 400);
const server = startProc(process.execPath, [
  ...(values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : []),
  ...serveArgs({ data, config: configFile, mqttPort: port, httpPort: port + 1 }),
]);
const bare = startProc(process.execPath, [
  '--import',
  'tsx',
  `${root}bench/lib/bare-devices-server.ts`,
  '--data',
  data,
  '--port',
  String(port + 2),
]);

interface Load {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  rps: number;
  bytesPerRequest: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Runs the load generator against `url` for `secs` seconds in its own process. */
async function load(url: string, token: string | null, secs: number, rate = 0): Promise<Load> {
  const r = await runToEnd(process.execPath, [
    '--import',
    'tsx',
    `${root}bench/lib/http-load.ts`,
    '--url',
    url,
    '--ca',
    join(data, 'pki', 'ca.crt'),
    '--clients',
    String(clients),
    '--seconds',
    String(secs),
    '--rate',
    String(rate),
    ...(token ? ['--header', `authorization: Bearer ${token}`] : []),
  ]);
  if (r.code !== 0) throw new Error(`load generator failed (${r.code})`);
  return JSON.parse(r.stdout) as Load;
}

/** Messages per second the fleet server stored during `secs` seconds of the simulator's throughput load. */
async function mqttThroughput(secs: number, whileRunning?: () => Promise<unknown>): Promise<number> {
  const db = new Database(join(data, 'fleet.db'), { readonly: true });
  const count = db.prepare('SELECT count(*) FROM telemetry').pluck();
  let window: { c0: number; t0: number } | undefined;
  let rate = 0;
  let side: Promise<unknown> | undefined;
  const warmup = 3;
  const sim = await createSimulator({
    server: `mqtts://127.0.0.1:${port}`,
    // Counted here from SQLite, as bench/broker-throughput does: the simulator does not read every stored sample
    // back through the API after the run.
    serverView: emptyServerView(),
    dataDir: data,
    devices: mqttClients,
    scenario: 'throughput',
    durationMs: (warmup + secs) * 1000,
    workers: 2,
    rampPerSecond: 1000,
    exposureEveryMs: 0,
    drainMs: 5000,
    onStage(stage) {
      if (stage === 'throughput') {
        setTimeout(() => {
          window = { c0: count.get() as number, t0: Date.now() };
          if (whileRunning) side = whileRunning();
        }, warmup * 1000);
      }
      if (stage === 'draining' && window)
        rate = ((count.get() as number) - window.c0) / ((Date.now() - window.t0) / 1000);
    },
  });
  await sim.done;
  await side;
  db.close();
  return rate;
}

const ms = (n: number) => `${n.toFixed(1)} ms`;

try {
  await waitForPort(port + 1);
  await waitForPort(port + 2);
  const client = createApiClient({
    server: `https://127.0.0.1:${port + 1}`,
    ca: readFileSync(join(data, 'pki', 'ca.crt'), 'utf8'),
    credential: readFileSync(join(work, 'bench.key'), 'utf8'),
    tokenRequest: { scopes: ['devices:read'], ttlSeconds: 3600 },
  });
  const token = (await client.obtainToken()).token;
  client.close();
  const ours = `https://127.0.0.1:${port + 1}/api/v1/devices?limit=100`;
  const peer = `https://127.0.0.1:${port + 2}/devices?limit=100`;

  process.stderr.write('warming up …\n');
  await load(ours, token, 2);
  await load(peer, null, 2);
  const oursRuns: Load[] = [];
  const peerRuns: Load[] = [];
  for (let i = 0; i < roundCount; i++) {
    process.stderr.write(`round ${i + 1}/${roundCount} …\n`);
    oursRuns.push(await load(ours, token, seconds));
    peerRuns.push(await load(peer, null, seconds));
  }
  const best = (runs: Load[]) => runs.reduce((a, b) => (b.rps > a.rps ? b : a));
  const o = best(oursRuns);
  const p = best(peerRuns);
  const bad = oursRuns.concat(peerRuns).filter((r) => r.errors > 0 || Object.keys(r.statuses).some((s) => s !== '200'));

  // MQTT alone, beside the API at a paced rate, and beside the bare handler (another process) at that rate, in
  // alternating rounds: the machine's load drifts, so each figure is the median of its rounds.
  const alones: number[] = [];
  const loadeds: number[] = [];
  const besides: number[] = [];
  const paceds: Load[] = [];
  const elsewheres: Load[] = [];
  for (let i = 0; i < mqttRounds; i++) {
    process.stderr.write(`MQTT round ${i + 1}/${mqttRounds}: alone …\n`);
    alones.push(await mqttThroughput(seconds));
    process.stderr.write(`MQTT round ${i + 1}/${mqttRounds}: with the API at ${apiRate || 'full'} req/s …\n`);
    loadeds.push(await mqttThroughput(seconds, async () => paceds.push(await load(ours, token, seconds, apiRate))));
    // The same paced load on the bare handler, another process: what sharing the machine's two cores costs MQTT
    // by itself, apart from sharing the broker's event loop.
    process.stderr.write(`MQTT round ${i + 1}/${mqttRounds}: with the bare handler at ${apiRate || 'full'} req/s …\n`);
    besides.push(await mqttThroughput(seconds, async () => elsewheres.push(await load(peer, null, seconds, apiRate))));
  }
  const alone = median(alones);
  const loaded = median(loadeds);
  const beside = median(besides);
  const paced = { rps: median(paceds.map((l) => l.rps)), p99: median(paceds.map((l) => l.p99)) };
  const elsewhere = { p99: median(elsewheres.map((l) => l.p99)) };
  process.stderr.write('MQTT throughput with the API as fast as answered …\n');
  let flat: Load | undefined;
  const saturated = await mqttThroughput(seconds, async () => (flat = await load(ours, token, seconds, 0)));

  const row = (name: string, r: Load) =>
    `${name.padEnd(45)}${fmt(r.rps).padStart(6)}  ${ms(r.p50).padStart(9)} ${ms(r.p99).padStart(9)} ` +
    `${ms(r.max).padStart(9)}  ${fmt(r.bytesPerRequest)}`;
  const rounds = (runs: Load[]) =>
    `${runs.map((r) => fmt(r.rps)).join(', ')} req/s; p99 ${runs.map((r) => ms(r.p99)).join(', ')}`;
  const mqttRow = (name: string, rate: number) =>
    `${name.padEnd(62)}${fmt(rate).padStart(7)}  (${fmt((rate / alone) * 100, 1)}% of idle)`;
  const each = (v: number[]) => v.map((x) => fmt(x)).join(' ');
  const ratio = o.rps / p.rps;
  const slower = Math.max(0, (1 - loaded / alone) * 100);
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const lines = [
    `bench/operator-api — GET /api/v1/devices?limit=100, ${fmt(devices)} devices, ${clients} clients, ` +
      `${seconds} s × ${values.rounds} rounds (best round shown), load average ${loadAverage()}`,
    '',
    `${'server'.padEnd(45)} req/s        p50       p99       max  bytes/req`,
    row('edgeward (token, scope, validation)', o),
    row('bare node:https handler, same rows', p),
    '',
    `every round, edgeward: ${rounds(oursRuns)}`,
    `every round, bare:     ${rounds(peerRuns)}`,
    '',
    `MQTT ingest (QoS 1, mTLS, ${mqttClients} simulated devices), messages stored per second, median of ` +
      `${mqttRounds} alternating rounds (${[alones, loadeds, besides].map(each).join(' | ')}):`,
    `${'  API idle'.padEnd(62)}${fmt(alone).padStart(7)}`,
    mqttRow(`  API at ${apiRate} req/s (${fmt(paced.rps)} answered, p99 ${ms(paced.p99)})`, loaded),
    mqttRow(`  API as fast as answered (${fmt(flat?.rps ?? 0)} req/s)`, saturated),
    mqttRow(`  bare handler, own process, at ${apiRate} req/s (p99 ${ms(elsewhere.p99)})`, beside),
    '',
    `targets: throughput ${fmt(ratio, 2)}× the bare handler (≥ 0.7: ${verdict(ratio >= 0.7)}); ` +
      `p99 ${ms(o.p99)} (< 50 ms: ${verdict(o.p99 < 50)}); ` +
      `MQTT ${fmt(slower, 1)}% slower with the API at ${apiRate} req/s (≤ 10%: ${verdict(slower <= 10)})`,
    ...(bad.length ? [`WARNING: ${bad.length} runs had errors or non-200 answers`] : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await server.stop();
  await bare.stop();
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}
