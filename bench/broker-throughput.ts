// bench/broker-throughput: the same QoS 1 mTLS publish load against `fleet serve` with all protections on,
// the same fleet server with them off (ACL, per-device rate limits: bench/lib/unprotected-server.ts, bundled like
// `fleet` by the bench itself, for `fleet serve` cannot turn them off), and mosquitto 2, back to back, with the
// same certificates. The load is the simulator's `throughput` scenario: real agents
// (outbox, sender, one sample per message) spread over worker processes, each keeping its outbox full and
// publishing as fast as the broker acknowledges. Each message is counted once on arrival: by what edgeward
// stored (SQLite rows), and by a QoS 1 subscriber on mosquitto.
// Run: node --import tsx bench/broker-throughput.ts [--clients 50] [--seconds 10] [--warmup 3] [--workers 2] [--pin]
//      [--only protected,unprotected,mosquitto] [--help]
// The protected run uses a device type whose rate limit is above the offered load, so what is measured is
// the cost of checking every packet, not throttling.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { createFakePlatform } from '../agent/src/index.js';
import { encode } from '../shared/src/index.js';
import { createSimulator, emptyServerView } from '../simulator/src/index.js';
import {
  ensureBuilt,
  fleetSync,
  fmt,
  loadAverage,
  root,
  startProc,
  UNTHROTTLED_DEVICES,
  waitForPort,
  type Proc,
} from './lib/procs.js';
import { buildUnprotectedServer } from './lib/unprotected-build.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    pin: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    /** Run only these brokers, comma-separated: protected, unprotected, mosquitto. */
    only: { type: 'string', default: 'protected,unprotected,mosquitto' },
    /** Write the fleet server's CPU profiles (node --cpu-prof) into this folder. */
    profile: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'node --import tsx bench/broker-throughput.ts [--clients 50] [--seconds 10] [--warmup 3] [--workers 2] [--pin]\n' +
      '    [--only protected,unprotected,mosquitto] [--profile DIR] [--keep]\n' +
      'The same QoS 1 mTLS publish load against `fleet serve` (protections on), the fleet server with its ACL and\n' +
      'rate limits off (a bench-only build of bench/lib/unprotected-server.ts) and mosquitto 2.',
  );
  process.exit(0);
}
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const workers = Number(values.workers);
// --pin: the broker on CPU 0, this process and its simulator workers on CPU 1, so that the broker never
// competes with the load generator for a core (without it, the scheduler shares both cores among all).
const pin = values.pin === true;
if (pin) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
const pinned = (cmd: string, args: string[]): [string, string[]] =>
  pin ? ['taskset', ['-c', '0', cmd, ...args]] : [cmd, args];

ensureBuilt();
const unprotectedServer = values.only!.split(',').includes('unprotected') ? await buildUnprotectedServer() : '';
const work = mkdtempSync(join(tmpdir(), 'edgeward-bench-'));
const data = join(work, 'data');
const fleet = fleetSync;
fleet(['pki', 'init', '--data', data]);
// The simulator's identities, issued by the bulk path into DATA/sim where it finds them.
fleet(['device', 'add', '--bulk', String(clients), '--prefix', 'sim-', '--data', data, '--out', join(data, 'sim')]);
fleet(['device', 'add', 'bench-counter', '--data', data, '--out', join(work, 'bench-counter')]);

interface Result {
  name: string;
  acked: number;
  counted: number;
  errors: number;
  rss: number;
  load: number;
  /** Broker CPU time per counted message, µs (user + system, from /proc). */
  cpuUs: number;
  /** CPU time of everything else on the machine (the load generator, the counter) per counted message, µs. */
  restUs: number;
}

/** CPU seconds all processes on the machine have used so far (user, nice, system, irq, softirq from /proc/stat). */
function machineCpuSeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) / 100;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2)
      .split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** The telemetry message the agents send here: one sample of the fake platform's seven metrics. */
async function payloadBytes(): Promise<number> {
  const m = await createFakePlatform(1).readMetrics();
  return encode({
    v: 1,
    id: 'abcdefghijklmnop-1-1',
    ts: Date.now(),
    stream: 'abcdefghijklmnop',
    samples: [{ seq: 1, ts: Date.now(), m }],
  }).length;
}

async function measure(name: string, port: number, counted: () => number, server: Proc): Promise<Result> {
  let acked = 0;
  let window: { a0: number; c0: number; t0: number; cpu0: number; all0: number } | undefined;
  let result: { a: number; c: number; t: number; cpu: number; all: number } | undefined;
  // Under taskset the child is taskset's exec of the broker: the same pid.
  const pid = server.child.pid!;
  let timer: NodeJS.Timeout | undefined;
  const load = loadAverage();
  const sim = await createSimulator({
    server: `mqtts://127.0.0.1:${port}`,
    // mosquitto has no operator API: what it stored is not read (the counted column comes from its subscriber).
    ...(name.startsWith('mosquitto')
      ? { serverView: emptyServerView() }
      : { serverApi: `https://127.0.0.1:${port + 1}` }),
    dataDir: data,
    devices: clients,
    scenario: 'throughput',
    durationMs: (warmup + seconds) * 1000,
    workers,
    rampPerSecond: 1000,
    exposureEveryMs: 0,
    drainMs: 5000,
    onTick: (t) => void (acked += t.ackedPerSecond),
    onStage(stage) {
      if (stage === 'throughput')
        timer = setTimeout(
          () =>
            (window = { a0: acked, c0: counted(), t0: Date.now(), cpu0: cpuSeconds(pid), all0: machineCpuSeconds() }),
          warmup * 1000,
        );
      if (stage === 'draining' && window)
        result = {
          a: acked - window.a0,
          c: counted() - window.c0,
          t: (Date.now() - window.t0) / 1000,
          cpu: cpuSeconds(pid) - window.cpu0,
          all: machineCpuSeconds() - window.all0,
        };
    },
  });
  const r = await sim.done;
  clearTimeout(timer);
  if (!result) throw new Error(`${name}: the measured window never ended`);
  return {
    name,
    acked: result.a / result.t,
    counted: result.c / result.t,
    errors: Object.values(r.errors).reduce((a, b) => a + b, 0),
    rss: server.peakRss(),
    load,
    cpuUs: (result.cpu / Math.max(1, result.c)) * 1e6,
    restUs: ((result.all - result.cpu) / Math.max(1, result.c)) * 1e6,
  };
}

const benchConfig = join(work, 'fleet.json');
writeFileSync(
  benchConfig,
  JSON.stringify({
    deviceTypes: UNTHROTTLED_DEVICES,
  }),
);

async function edgeward(protections: boolean): Promise<Result> {
  const port = 18900 + Math.floor(Math.random() * 500);
  const prof = values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [];
  const flags = ['--data', data, '--config', benchConfig, '--mqtt-port', String(port), '--http-port', String(port + 1)];
  const server = startProc(
    ...pinned(
      process.execPath,
      protections
        ? [...prof, `${root}dist/fleet.js`, 'serve', ...flags, '--log-level', 'error']
        : [...prof, unprotectedServer, ...flags],
    ),
  );
  try {
    await waitForPort(port);
    const db = new Database(join(data, 'fleet.db'), { readonly: true });
    const count = db.prepare('SELECT count(*) FROM telemetry').pluck();
    const r = await measure(
      `edgeward, protections ${protections ? 'on' : 'off'}`,
      port,
      () => count.get() as number,
      server,
    );
    db.close();
    return r;
  } finally {
    await server.stop();
  }
}

async function mosquitto(): Promise<Result> {
  const port = 19500 + Math.floor(Math.random() * 400);
  const conf = join(work, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      'user root',
      'persistence false',
      'log_dest none',
      `listener ${port} 127.0.0.1`,
      `cafile ${data}/pki/ca.crt`,
      `certfile ${data}/pki/server.crt`,
      `keyfile ${data}/pki/server.key`,
      'tls_version tlsv1.2',
      'require_certificate true',
      'use_identity_as_username true',
      'allow_anonymous false',
      'max_inflight_messages 0',
      'max_queued_messages 0',
      '',
    ].join('\n'),
  );
  const server = startProc(...pinned('mosquitto', ['-c', conf]));
  try {
    await waitForPort(port);
    const d = join(work, 'bench-counter');
    const counter = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
      clientId: 'bench-counter',
      key: readFileSync(join(d, 'device.key')),
      cert: readFileSync(join(d, 'device.crt')),
      ca: readFileSync(join(d, 'ca.crt')),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    let n = 0;
    counter.on('message', () => n++);
    await counter.subscribeAsync('fleet/v1/+/telemetry', { qos: 1 });
    const r = await measure('mosquitto 2', port, () => n, server);
    await counter.endAsync(true);
    return r;
  } finally {
    await server.stop();
  }
}

const payload = await payloadBytes();
console.log(
  `broker-throughput: ${clients} simulated agents (real agent code, mTLS, one sample per message) over ${workers} ` +
    `worker processes, QoS 1, ${warmup}s warm-up + ${seconds}s ` +
    `measured${pin ? '; broker pinned to CPU 0, load to CPU 1' : ''}`,
);
const only = new Set(values.only!.split(','));
const ours = only.has('protected') ? await edgeward(true) : undefined;
const open = only.has('unprotected') ? await edgeward(false) : undefined;
const theirs = only.has('mosquitto') ? await mosquitto() : undefined;
const rows = [ours, open, theirs].filter((r): r is Result => r !== undefined);
console.log('');
console.log(
  `${'broker'.padEnd(26)} ${'payload B'.padStart(9)} ${'acked msg/s'.padStart(12)} ${'counted msg/s'.padStart(14)} ` +
    `${'CPU µs/msg'.padStart(11)} ${'load µs/msg'.padStart(12)} ${'errors'.padStart(7)} ` +
    `${'peak RSS MB'.padStart(12)} ${'load'.padStart(5)}`,
);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(26)} ${String(payload).padStart(9)} ${fmt(r.acked).padStart(12)} ` +
      `${fmt(r.counted).padStart(14)} ${fmt(r.cpuUs, 1).padStart(11)} ${fmt(r.restUs, 1).padStart(12)} ` +
      `${String(r.errors).padStart(7)} ${fmt(r.rss / 1048576, 1).padStart(12)} ${r.load.toFixed(2).padStart(5)}`,
  );
}
console.log('');
if (ours && theirs)
  console.log(
    `ratio edgeward (protected) / mosquitto, counted msg/s: ` +
      `${(ours.counted / theirs.counted).toFixed(2)}  (target ≥ 0.80)`,
  );
if (ours && open)
  console.log(
    `cost of security (1 - protected / unprotected): ` +
      `${((1 - ours.counted / open.counted) * 100).toFixed(1)}%  (target ≤ 15%)`,
  );
console.log(
  'edgeward counts rows committed to SQLite (PUBACK after commit); mosquitto counts deliveries to a QoS 1 subscriber.',
);
console.log(
  pin
    ? 'Pinned: each broker has one core, the load generator the other; a broker that needs less CPU per message ' +
        'than the generator offers is limited by the generator (compare CPU µs/msg).'
    : 'The load generator shares the 2 cores with the broker: the CPU it takes is not available to the broker ' +
        '(compare CPU µs/msg, which does not depend on it).',
);
if (!values.keep) rmSync(work, { recursive: true, force: true });
