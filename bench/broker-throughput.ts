// bench/broker-throughput: the same QoS 1 mTLS publish load against `fleet serve` with all protections on,
// the same fleet server with them off (ACL, per-device rate limits: bench/lib/unprotected-server.ts, bundled like
// `fleet` by the bench itself, for `fleet serve` cannot turn them off), and mosquitto 2, back to back, with the
// same certificates. The load (--load): by default 50 devices over worker processes whose telemetry messages (the
// agent's, one sample each, distinct sequence numbers) are built and sealed before the timed part, each device
// keeping 8 QoS 1 publishes in flight (bench/lib/presealed-load.ts); with --load agents, the simulator's
// `throughput` scenario: real agents (outbox, sender, sealing as they send), each keeping its outbox full and
// publishing as fast as the broker acknowledges. Each message is counted once on arrival: by what edgeward
// stored (SQLite rows), and by a QoS 1 subscriber on mosquitto.
// Run: node --import tsx bench/broker-throughput.ts [--clients 50] [--seconds 10] [--warmup 3] [--workers 2] [--pin]
//      [--only unsealed,protected,at-rest,unprotected,mosquitto] [--baseline OTHER/dist/fleet.js] [--rounds N]
//      [--load presealed|agents] [--pool-rate 30000] [--help]
// Encryption on and off in one run (issue 18): `unsealed` is the protected server with `sealing: "optional"` and
// agents that send plain messages, on a plain folder; `protected` seals end to end (docs/security.md), the default;
// `at-rest` seals too, on a data folder made with `fleet pki init --encrypt-at-rest` (the database and its WAL
// encrypted page by page, docs/encryption-at-rest.md). Printed: the cost of sealing (against unsealed), of at-rest
// encryption (against protected), and of both (against unsealed), in msg/s and in server CPU per message (what a
// server bound by its CPU would lose: 1 - CPU without / CPU with).
// --baseline runs another build of `fleet` (an earlier commit's checkout, built) under the same load, alternating
// with this one for --rounds rounds: a change's cost measured on the same machine in the same run.
// The protected run uses a device type whose rate limit is above the offered load, so what is measured is
// the cost of checking every packet, not throttling.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { createFakePlatform } from '../agent/src/index.js';
import {
  deviceTopic,
  encode,
  generateSealKeyPair,
  openKeyedDatabase,
  sealChannel,
  sealMessage,
} from '../shared/src/index.js';
import { dataFolderKey } from '../broker/src/fleet/at-rest.js';
import { createSimulator, emptyServerView } from '../simulator/src/index.js';
import {
  ensureBuilt,
  fleetSync,
  fmt,
  loadAverage,
  median,
  root,
  startProc,
  UNTHROTTLED_DEVICES,
  waitForPort,
  type Proc,
} from './lib/procs.js';
import { startPresealedLoad } from './lib/presealed-load.js';
import { buildUnprotectedServer } from './lib/unprotected-build.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    pin: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    /** Run only these brokers, comma-separated: unsealed, protected, at-rest, unprotected, mosquitto. */
    only: { type: 'string', default: 'unsealed,protected,at-rest,unprotected,mosquitto' },
    /** Another build's dist/fleet.js, run under the same load for comparison. */
    baseline: { type: 'string' },
    /** Every broker this many times, alternating; the table gives each run, the ratios use the medians. */
    rounds: { type: 'string', default: '1' },
    /** Write the fleet server's CPU profiles (node --cpu-prof) into this folder. */
    profile: { type: 'string' },
    /** presealed: messages built and sealed before the timed part (default); agents: the simulator's real agents. */
    load: { type: 'string', default: 'presealed' },
    /** The pre-built messages per device cover this many msg/s over the whole run (warm-up and measurement). */
    'pool-rate': { type: 'string', default: '30000' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'node --import tsx bench/broker-throughput.ts [--clients 50] [--seconds 10] [--warmup 3] [--workers 2] [--pin]\n' +
      '    [--only unsealed,protected,at-rest,unprotected,mosquitto] [--baseline OTHER/dist/fleet.js] [--rounds 1]\n' +
      '    [--profile DIR] [--keep] [--load presealed|agents] [--pool-rate 30000]\n' +
      'The same QoS 1 mTLS publish load against `fleet serve` (protections on), the fleet server with its ACL and\n' +
      'rate limits off (a bench-only build of bench/lib/unprotected-server.ts) and mosquitto 2.\n' +
      '--baseline also runs another build of `fleet serve` (for example an earlier commit, checked out and built)\n' +
      'on its own data folder, so that a change is compared with what came before on the same machine, same run.\n' +
      'Encryption on and off in one run: unsealed (sealing "optional", agents send plain messages), protected\n' +
      '(sealed end to end, the default) and at-rest (sealed, on a folder encrypted at rest); the cost of each and\n' +
      'of both is printed, in msg/s and in the server CPU per message.\n' +
      '--load presealed (default): the messages of each device are built and sealed before the timed part, so the\n' +
      'device-side sealing does not take the cores from the server while it is measured (--pool-rate: the msg/s\n' +
      'the pre-built messages last for); --load agents: real agents (the simulator), which seal as they send.',
  );
  process.exit(0);
}
const clients = Number(values.clients);
if (values.load !== 'presealed' && values.load !== 'agents') {
  console.error(`--load ${values.load}: presealed or agents`);
  process.exit(2);
}
const poolRate = Number(values['pool-rate']);
const rounds = Math.max(1, Number(values.rounds));
const baseline = values.baseline;
if (baseline && !existsSync(baseline)) {
  console.error(`--baseline ${baseline}: no such file (build the other checkout first: npm run build)`);
  process.exit(2);
}
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
/** A fleet's data folder made by one build's CLI: its CA, the simulator's identities (issued by the bulk path into
 * DATA/sim where the simulator finds them) and the mosquitto counter's. */
function makeData(dir: string, bundle?: string): string {
  const fleet = (args: string[]) => fleetSync(args, bundle);
  fleet(['pki', 'init', '--data', dir]);
  fleet(['device', 'add', '--bulk', String(clients), '--prefix', 'sim-', '--data', dir, '--out', join(dir, 'sim')]);
  fleet(['device', 'add', 'bench-counter', '--data', dir, '--out', join(dir, 'bench-counter')]);
  return dir;
}
const data = makeData(join(work, 'data'));
const baselineData = baseline ? makeData(join(work, 'baseline'), baseline) : '';
// The simulator opens (and so migrates) the fleet database of the folder it is given to find its identities: for
// the baseline it gets a copy, so that the older build's server keeps a database of its own schema.
const baselineSimData = baseline ? join(work, 'baseline-sim') : '';
if (baseline) cpSync(baselineData, baselineSimData, { recursive: true });

// --- at rest (issue 18 §3): the same server on a folder encrypted at rest -----------------------------------------
const atRest = values.only!.split(',').includes('at-rest');
/** The storage key, outside the data folder as `fleet` requires. */
const storageKey = join(work, 'storage.key');
const atRestData = join(work, 'at-rest');
/**
 * The simulator reads its identities through the folder's database, which it cannot open without the key: it
 * gets a plain folder of its own, whose database lists the same device ids as active, holding the identities the
 * encrypted folder issued (its CA is the one the at-rest server presents).
 */
const atRestSimData = join(work, 'at-rest-sim');
if (atRest) {
  writeFileSync(storageKey, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const key = ['--storage-key', storageKey];
  fleetSync(['pki', 'init', '--data', atRestData, '--encrypt-at-rest', ...key]);
  fleetSync(
    ['device', 'add', '--bulk', String(clients), '--prefix', 'sim-', '--data', atRestData, ...key, '--out'].concat(
      join(atRestData, 'sim'),
    ),
  );
  fleetSync(['pki', 'init', '--data', atRestSimData]);
  fleetSync(
    ['device', 'add', '--bulk', String(clients), '--prefix', 'sim-', '--data', atRestSimData, '--out'].concat(
      join(work, 'at-rest-sim-unused'),
    ),
  );
  rmSync(join(atRestSimData, 'sim'), { recursive: true, force: true });
  cpSync(join(atRestData, 'sim'), join(atRestSimData, 'sim'), { recursive: true });
  // The devices trust the fleet CA of the folder (simulator/src/device-pool.ts reads DATA/pki/ca.crt).
  cpSync(join(atRestData, 'pki', 'ca.crt'), join(atRestSimData, 'pki', 'ca.crt'));
}
/** Counts the at-rest server's rows through the key (SQLite3 Multiple Ciphers, as the server opens it). */
function openAtRestCount(): { get(): number; close(): void } {
  // The folder's key with its page cipher (the marker's), opened as the server opens it.
  const db = openKeyedDatabase(join(atRestData, 'fleet.db'), dataFolderKey(atRestData, storageKey)!, {
    readonly: true,
  });
  const count = db.prepare('SELECT count(*) FROM telemetry').pluck();
  return { get: () => count.get() as number, close: () => db.close() };
}
// --- end at rest ------------------------------------------------------------------------------------------------

interface Result {
  name: string;
  /** The messages were sealed (their size on the wire is sealedPayload). */
  sealed: boolean;
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

/** A load on one broker: started (connected, messages ready) when this resolves; `go` begins the timed part. */
interface Load {
  go(): void;
  acked(): number;
  /** Ends the load (stops publishing, drains); errors: failed connections or publishes. */
  end(): Promise<{ errors: number; exhausted: number }>;
}

/** The real agents of the simulator's `throughput` scenario; they seal as they send. */
async function agentLoad(port: number, dataDir: string, sealing: boolean): Promise<Load> {
  let acked = 0;
  let go: () => void = () => {};
  const started = new Promise<void>((resolve) => (go = resolve));
  const sim = await createSimulator({
    server: `mqtts://127.0.0.1:${port}`,
    // What each broker received is counted here (SQLite rows, the subscriber's deliveries), not through the
    // simulator's server view: a baseline build may have no operator API, and reading every stored sample back
    // after the run would only make the bench slower.
    serverView: emptyServerView(),
    dataDir,
    devices: clients,
    scenario: 'throughput',
    durationMs: (warmup + seconds) * 1000,
    workers,
    rampPerSecond: 1000,
    exposureEveryMs: 0,
    drainMs: 5000,
    sealing,
    onTick: (t) => void (acked += t.ackedPerSecond),
    onStage: (stage) => void (stage === 'throughput' && go()),
  });
  await started;
  return {
    go: () => {},
    acked: () => acked,
    async end() {
      const r = await sim.done;
      return { errors: Object.values(r.errors).reduce((a, b) => a + b, 0), exhausted: 0 };
    },
  };
}

/** Messages built and sealed before the timed part (bench/lib/presealed-load.ts). */
async function presealedLoad(port: number, dataDir: string, sealing: boolean): Promise<Load> {
  const load = await startPresealedLoad({
    url: `mqtts://127.0.0.1:${port}`,
    dataDir,
    devices: clients,
    workers,
    sealing,
    perDevice: Math.ceil((poolRate * (warmup + seconds + 2)) / clients),
    inflight: 8,
  });
  return { go: () => load.go(), acked: () => load.acked(), end: () => load.stop(5000) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(
  name: string,
  port: number,
  dataDir: string,
  counted: () => number,
  server: Proc,
  sealing = true,
): Promise<Result> {
  // Under taskset the child is taskset's exec of the broker: the same pid.
  const pid = server.child.pid!;
  const load = await (values.load === 'agents' ? agentLoad : presealedLoad)(port, dataDir, sealing);
  const snapshot = () => ({
    a: load.acked(),
    c: counted(),
    t: Date.now() / 1000,
    cpu: cpuSeconds(pid),
    all: machineCpuSeconds(),
  });
  const loadAvg = loadAverage();
  load.go();
  await sleep(warmup * 1000);
  const w0 = snapshot();
  await sleep(seconds * 1000);
  const w1 = snapshot();
  const { errors, exhausted } = await load.end();
  if (exhausted > 0)
    throw new Error(`${name}: ${exhausted} devices sent every pre-built message before the end; raise --pool-rate`);
  const n = Math.max(1, w1.c - w0.c);
  return {
    name,
    sealed: sealing,
    acked: (w1.a - w0.a) / (w1.t - w0.t),
    counted: (w1.c - w0.c) / (w1.t - w0.t),
    errors,
    rss: server.peakRss(),
    load: loadAvg,
    cpuUs: ((w1.cpu - w0.cpu) / n) * 1e6,
    restUs: ((w1.all - w0.all - (w1.cpu - w0.cpu)) / n) * 1e6,
  };
}

const benchConfig = join(work, 'fleet.json');
writeFileSync(
  benchConfig,
  JSON.stringify({
    deviceTypes: UNTHROTTLED_DEVICES,
  }),
);

// --- sealing comparison (issue 18, part 1): the protected server with sealing "optional", agents unsealed ---
const unsealedConfig = join(work, 'fleet-unsealed.json');
writeFileSync(unsealedConfig, JSON.stringify({ deviceTypes: UNTHROTTLED_DEVICES, sealing: 'optional' }));
// --- end sealing comparison ---

type Build = 'unsealed' | 'protected' | 'at-rest' | 'unprotected' | 'baseline';
const NAMES: Record<Build | 'mosquitto', string> = {
  unsealed: 'edgeward, on, not sealed',
  protected: 'edgeward, protections on',
  'at-rest': 'edgeward, on + at rest',
  unprotected: 'edgeward, protections off',
  baseline: 'baseline, protections on',
  mosquitto: 'mosquitto 2',
};

async function edgeward(build: Build): Promise<Result> {
  const port = 18900 + Math.floor(Math.random() * 500);
  const prof = values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [];
  const dir = build === 'baseline' ? baselineData : build === 'at-rest' ? atRestData : data;
  const config = build === 'unsealed' ? unsealedConfig : benchConfig;
  const flags = ['--data', dir, '--config', config, '--mqtt-port', String(port), '--http-port', String(port + 1)];
  const entry = {
    protected: [`${root}dist/fleet.js`, 'serve', ...flags, '--log-level', 'error'],
    unsealed: [`${root}dist/fleet.js`, 'serve', ...flags, '--log-level', 'error'],
    'at-rest': [`${root}dist/fleet.js`, 'serve', ...flags, '--storage-key', storageKey, '--log-level', 'error'],
    baseline: [baseline!, 'serve', ...flags, '--log-level', 'error'],
    unprotected: [unprotectedServer, ...flags],
  }[build];
  const server = startProc(...pinned(process.execPath, [...prof, ...entry]));
  try {
    await waitForPort(port).catch((err: Error) => {
      throw new Error(`${NAMES[build]}: ${err.message}; its output:\n${server.output()}`);
    });
    const db =
      build === 'at-rest'
        ? openAtRestCount()
        : (() => {
            const plain = new Database(join(dir, 'fleet.db'), { readonly: true });
            const count = plain.prepare('SELECT count(*) FROM telemetry').pluck();
            return { get: () => count.get() as number, close: () => plain.close() };
          })();
    const simData = build === 'baseline' ? baselineSimData : build === 'at-rest' ? atRestSimData : data;
    const r = await measure(NAMES[build], port, simData, () => db.get(), server, build !== 'unsealed');
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
    const d = join(data, 'bench-counter');
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
    const r = await measure(NAMES.mosquitto, port, data, () => n, server);
    await counter.endAsync(true);
    return r;
  } finally {
    await server.stop();
  }
}

const payload = await payloadBytes();
/** What a sealed telemetry message of that size weighs on the wire (the envelope, the topic bound inside). */
const sealedPayload = sealMessage(
  sealChannel(generateSealKeyPair(), generateSealKeyPair().publicKey),
  deviceTopic(`sim-${'0'.repeat(5)}`, 'telemetry'),
  new Uint8Array(payload),
).length;
console.log(
  `broker-throughput: ${clients} ${
    values.load === 'agents'
      ? 'simulated agents (real agent code, sealing as they send'
      : `devices (messages built and sealed before the timed part, ${poolRate} msg/s' worth`
  }; mTLS, one sample per message) over ${workers} worker processes, QoS 1, ${warmup}s warm-up + ${seconds}s ` +
    `measured${pin ? '; broker pinned to CPU 0, load to CPU 1' : ''}`,
);
const only = new Set(values.only!.split(','));
const order: (Build | 'mosquitto')[] = [
  ...(baseline ? (['baseline'] as const) : []),
  ...(['unsealed', 'protected', 'at-rest', 'unprotected', 'mosquitto'] as const).filter((b) => only.has(b)),
];
const runs = new Map(order.map((b) => [b, [] as Result[]]));
for (let round = 1; round <= rounds; round++) {
  if (rounds > 1) console.log(`round ${round} of ${rounds} (load average ${loadAverage().toFixed(2)})`);
  for (const b of order) runs.get(b)!.push(b === 'mosquitto' ? await mosquitto() : await edgeward(b));
}
/** Each figure's median over the rounds. */
const medianRun = (rs: Result[]): Result => ({
  ...rs[0]!,
  counted: median(rs.map((r) => r.counted)),
  cpuUs: median(rs.map((r) => r.cpuUs)),
});
const med = (b: Build | 'mosquitto') => (runs.has(b) ? medianRun(runs.get(b)!) : undefined);
console.log('');
console.log(
  `${'broker'.padEnd(26)} ${'payload B'.padStart(9)} ${'acked msg/s'.padStart(12)} ${'counted msg/s'.padStart(14)} ` +
    `${'CPU µs/msg'.padStart(11)} ${'load µs/msg'.padStart(12)} ${'errors'.padStart(7)} ` +
    `${'peak RSS MB'.padStart(12)} ${'load'.padStart(5)}`,
);
for (let round = 0; round < rounds; round++) {
  for (const b of order) {
    const r = runs.get(b)![round]!;
    const name = rounds > 1 ? `${r.name} #${round + 1}` : r.name;
    console.log(
      `${name.padEnd(26)} ${String(r.sealed ? sealedPayload : payload).padStart(9)} ${fmt(r.acked).padStart(12)} ` +
        `${fmt(r.counted).padStart(14)} ${fmt(r.cpuUs, 1).padStart(11)} ${fmt(r.restUs, 1).padStart(12)} ` +
        `${String(r.errors).padStart(7)} ${fmt(r.rss / 1048576, 1).padStart(12)} ${r.load.toFixed(2).padStart(5)}`,
    );
  }
}
console.log('');
const [ours, open, theirs, before] = [med('protected'), med('unprotected'), med('mosquitto'), med('baseline')];
const [unsealed, sealedAtRest] = [med('unsealed'), med('at-rest')];
const of = rounds > 1 ? ` (medians of ${rounds} rounds)` : '';
/**
 * "cost of X: counted msg/s N% (1 - with / without); server CPU M% (1 - CPU without / CPU with), A vs B µs/msg": the
 * second is the throughput a server bound by its own CPU would lose, whatever the load generator takes.
 */
const cost = (what: string, withIt: Result | undefined, without: Result | undefined, target = '') => {
  if (!withIt || !without) return;
  console.log(
    `cost of ${what}${of}: counted msg/s ${((1 - withIt.counted / without.counted) * 100).toFixed(1)}%; ` +
      `server CPU ${((1 - without.cpuUs / withIt.cpuUs) * 100).toFixed(1)}% ` +
      `(${fmt(withIt.cpuUs, 1)} vs ${fmt(without.cpuUs, 1)} µs/msg)${target}`,
  );
};
cost('end-to-end sealing (protected against unsealed)', ours, unsealed);
cost('encryption at rest (at rest against protected)', sealedAtRest, ours);
cost('sealing + at rest (at rest against unsealed)', sealedAtRest, unsealed, '  (target ≤ 20%)');
if (ours && theirs)
  console.log(
    `ratio edgeward (protected) / mosquitto, counted msg/s${of}: ` +
      `${(ours.counted / theirs.counted).toFixed(2)}  (target ≥ 0.80)`,
  );
if (ours && open)
  console.log(
    `cost of security (1 - protected / unprotected)${of}: ` +
      `${((1 - ours.counted / open.counted) * 100).toFixed(1)}%  (target ≤ 15%)`,
  );
if (ours && before)
  console.log(
    `this build / baseline${of}: counted msg/s ${(ours.counted / before.counted).toFixed(3)}, ` +
      `CPU µs/msg ${(ours.cpuUs / before.cpuUs).toFixed(3)}  (baseline: ${baseline})`,
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
