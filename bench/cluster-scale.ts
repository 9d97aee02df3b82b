// bench/cluster-scale: a 3-node local cluster (`fleet cluster up`: Redis, PostgreSQL, 3 `fleet serve --cluster`
// nodes, HAProxy) on this machine, with the simulator (real agents, mTLS, 2 worker processes) on the same cores.
// Phases, each bounded in time, the cluster torn down at the end (also on failure or Ctrl-C):
//   steady    the largest fleet holding a steady telemetry interval with p99 < --p99 ms, sizes stepped up until one
//             fails; each device gets the three nodes as its server list (random pick, failover), so no process
//             holds more than its 20,000 descriptors; memory per device = nodes' RSS summed − idle, per device;
//   haproxy   the same through HAProxy's front port (2 descriptors a connection, `maxconn 8000` in its config);
//   throughput QoS 1 telemetry as fast as acknowledged, the cluster against one node on SQLite, same devices;
//   kill      SIGKILL one node under a steady fleet: the time until every device is connected again (to the other
//             nodes), and every sample made stored exactly once in PostgreSQL.
// Latency: "ack" = sample made on the device → its PUBACK back at the device (the node acknowledges after the
// commit); "e2e" = sample made → received by a node (received_at − device_ts in the store). A size passes when
// every device connected, no sample is lost or stored twice, both p99 are under the limit, and the simulator took
// every sample of the window on time (a tick it ran over a second late takes none: samplesSkipped).
// Run: node --import tsx bench/cluster-scale.ts [--quick] [--help]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findClusterBinaries, INSTALL_LINE } from '../broker/src/cluster/local/index.js';
import { createSimulator, type SimResult } from '../simulator/src/index.js';
import { copyFleet, ensureSeed, type LocalCluster, startLocalCluster } from './lib/local-cluster.js';
import {
  ensureBuilt,
  fmt,
  freshBundle,
  loadAverage,
  startServe,
  UNTHROTTLED_DEVICES,
  waitForQuiet,
} from './lib/procs.js';
import { pgStoredView, type StoredView, sqliteStoredView } from './lib/stored-view.js';

const HELP = `node --import tsx bench/cluster-scale.ts [options]

A 3-node local cluster (fleet cluster up) and the simulator on this machine: the largest steady fleet, memory per
device, QoS 1 throughput against one node on SQLite, HAProxy's part, and the reconnection after a node is killed.

  --quick                   small sizes (a smoke run of about a minute)
  --sizes N,N,…             steady fleet sizes, over the nodes by server lists (default 5000,10000,15000,20000,25000)
  --haproxy-sizes N,N,…     steady fleet sizes through HAProxy's front (default 4000,7500,9500)
  --hold S                  measured seconds per size once every device is connected (default 30)
  --interval S              telemetry interval (default 10)
  --p99 MS                  the latency limit (default 500)
  --ramp N                  new devices per second (default 400; closed loop: at most 128 handshakes under way)
  --workers N               simulator worker processes (default 2; --quick: 0, the devices in this process)
  --sim-priority N          the workers' nice value (default -5; 0 to compete with the cluster as equals). The
                            devices they stand in for have CPUs of their own: a worker waiting for a core the
                            nodes hold would count its wait as the fleet's latency. Below 0 needs root and
                            the = form: --sim-priority=-10.
  --throughput-devices N    devices of the throughput comparison (default 300)
  --throughput-seconds S    its measured seconds, each side (default 15)
  --kill-devices N          fleet of the kill phase (default: the largest steady size that passed)
  --reconnect-bound S       the kill phase gives up waiting after this (default 60)
  --cache DIR               where the seed (CA, simulator identities) is kept between runs
                            (default $TMPDIR/edgeward-bench-cluster-scale; 25,000 took 5 minutes to issue here)
  --json FILE               the result, machine-readable
  --keep-going              step through every size even after one fails
  --help

Needs redis-server, haproxy and PostgreSQL (\`${INSTALL_LINE}\`).`;

/** The options, or a usage error (exit 2) for an unknown option or a missing or dash-led value. */
function options() {
  try {
    return parseArgs({ options: OPTIONS }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
}
const OPTIONS = {
  quick: { type: 'boolean', default: false },
  sizes: { type: 'string' },
  'haproxy-sizes': { type: 'string' },
  hold: { type: 'string' },
  interval: { type: 'string' },
  p99: { type: 'string', default: '500' },
  ramp: { type: 'string', default: '400' },
  workers: { type: 'string' },
  'sim-priority': { type: 'string', default: '-5' },
  'throughput-devices': { type: 'string' },
  'throughput-seconds': { type: 'string' },
  'kill-devices': { type: 'string' },
  'reconnect-bound': { type: 'string' },
  cache: { type: 'string', default: join(tmpdir(), 'edgeward-bench-cluster-scale') },
  json: { type: 'string' },
  'keep-going': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;
const values = options();
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const quick = values.quick;
const list = (v: string | undefined, dflt: string) => (v ?? dflt).split(',').map(Number);
const sizes = list(values.sizes, quick ? '60' : '5000,10000,15000,20000,25000');
const haproxySizes = list(values['haproxy-sizes'], quick ? '60' : '4000,7500,9500');
const holdMs = Number(values.hold ?? (quick ? 4 : 30)) * 1000;
const interval = Number(values.interval ?? (quick ? 1 : 10));
const p99Limit = Number(values.p99);
const ramp = Number(values.ramp);
// --quick runs the devices in this process: forking workers from source costs seconds each run.
const workers = Number(values.workers ?? (quick ? 0 : 2));
const simPriority = Number(values['sim-priority']);
const tpDevices = Number(values['throughput-devices'] ?? (quick ? 20 : 300));
const tpMs = Number(values['throughput-seconds'] ?? (quick ? 3 : 15)) * 1000;
const reconnectBoundMs = Number(values['reconnect-bound'] ?? (quick ? 30 : 60)) * 1000;
const killAfterMs = quick ? 2000 : 10_000;
const all = [...sizes, ...haproxySizes, tpDevices, Number(values['kill-devices'] ?? 0)];
if (
  all.some((n) => !Number.isInteger(n) || n < 0) ||
  [holdMs, interval, p99Limit, ramp, workers + 1].some((n) => !(n > 0)) ||
  !(Number.isInteger(simPriority) && simPriority >= -20 && simPriority <= 19)
) {
  console.error(`bad option value\n\n${HELP}`);
  process.exit(2);
}
try {
  findClusterBinaries();
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}

/** Per-address limits off: 25,000 devices share the simulator's 250 loopback addresses (100 each), HAProxy or not. */
const NODE_CONFIG = {
  limits: {
    connectionsPerMinutePerAddress: 1_000_000,
    connectionBurstPerAddress: 100_000,
    maxPendingHandshakesPerAddress: 10_000,
  },
  deviceTypes: UNTHROTTLED_DEVICES,
};

interface Run {
  readonly n: number;
  readonly r: SimResult | undefined;
  readonly duplicates: number;
  /** Samples not stored although their device had its PUBACK: lost after acknowledgement (must be 0). */
  readonly ackedLost: number;
  /** Samples not stored and never acknowledged: still in the devices' outboxes when the run ended. */
  readonly waiting: number;
  /** The nodes' RSS summed, at its highest while the whole fleet was up. */
  readonly nodesRss: number;
  readonly pass: boolean;
  readonly why: string;
  readonly load: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (b: number) => fmt(b / 1048576);
const kb = (b: number) => fmt(b / 1024);

interface RunSpec {
  readonly server: string;
  readonly n: number;
  readonly scenario: 'steady' | 'throughput';
  readonly durationMs: number;
  readonly view: StoredView;
  readonly rss?: () => number;
  /** Called once when the measured window begins (the whole fleet connected). */
  readonly onWindow?: (sim: { close(): Promise<unknown> }) => void;
  readonly onTick?: (connected: number) => void;
  readonly reconnect?: { minSeconds: number; maxSeconds: number };
  /** Pass or fail by the latency limit too (steady sizes; not the kill, whose reconnections take seconds). */
  readonly latencyLimit?: boolean;
}

/** One simulator run, bounded: it is closed when it outlasts its connect time, window and drain. */
async function simulate(spec: RunSpec): Promise<Run> {
  if (stopping) throw new Error('stopped by a signal');
  const load = loadAverage();
  let peakRss = 0;
  let measuring = false;
  // Bounded: a fleet that connects slower than 20 devices a second fails its size (a busy machine does).
  const connectMs = Math.round(60_000 + (spec.n / Math.min(ramp, 20)) * 1000);
  let shown = 0;
  const sim = await createSimulator({
    server: spec.server,
    dataDir: seed,
    devices: spec.n,
    scenario: spec.scenario,
    durationMs: spec.durationMs,
    // One interval after the last device connected, and on until the simulator's workers have caught up: the last
    // handshakes, and the simulator's own backlog from the ramp, are not the steady state the latency is asked of.
    settleMs: interval * 1000,
    telemetryIntervalSeconds: interval,
    rampPerSecond: ramp,
    workers,
    workerScript: simBundle,
    workerPriority: simPriority,
    exposureEveryMs: 0,
    connectTimeoutMs: connectMs,
    drainMs: 20_000,
    serverView: spec.view,
    ...(spec.reconnect ? { reconnect: spec.reconnect } : {}),
    onStage: (stage) => {
      measuring = stage === spec.scenario;
      if (measuring) spec.onWindow?.(sim);
    },
    onTick: (t, line) => {
      if (measuring && spec.rss) peakRss = Math.max(peakRss, spec.rss());
      if (Date.now() - shown >= 5000) {
        shown = Date.now();
        console.error(`   ${line}`);
      }
      spec.onTick?.(t.connected);
    },
    onNote: (line) => console.error(`   ${line}`),
  });
  const bound = setTimeout(() => void sim.close(), connectMs + spec.durationMs + 120_000);
  let r: SimResult | undefined;
  let failure = '';
  try {
    r = await sim.done;
  } catch (err) {
    failure = (err as Error).message;
  } finally {
    clearTimeout(bound);
  }
  const duplicates = spec.view.duplicates();
  const waiting = spec.view.waiting();
  // Every sample not stored must still be waiting in its device: the store may hold a waiting one (committed, its
  // PUBACK lost with the node), so this bounds the acknowledged-and-lost from below; 0 is the check.
  const ackedLost = r ? Math.max(0, r.lost - waiting) : 0;
  const p99 = r ? Math.max(r.latencyMs.p99, r.ackLatencyMs.p99) : 0;
  const skipped = r?.samplesSkipped?.window ?? 0;
  const why = !r
    ? `no result: ${failure}`
    : r.connected < spec.n
      ? `only ${fmt(r.connected)} of ${fmt(spec.n)} connected at once`
      : r.lost > 0
        ? `${fmt(r.lost)} samples lost`
        : duplicates > 0
          ? `${fmt(duplicates)} samples stored twice`
          : spec.latencyLimit && p99 >= p99Limit
            ? `p99 ${fmt(p99)} ms ≥ ${p99Limit} ms`
            : spec.latencyLimit && skipped > 0
              ? `${fmt(skipped)} samples not taken: the simulator ran their ticks over a second late`
              : '';
  return {
    n: spec.n,
    r,
    duplicates,
    ackedLost,
    waiting,
    nodesRss: peakRss,
    pass: why === '',
    why: why || 'pass',
    load,
  };
}

ensureBuilt();
// The simulator's workers run its bundle, as `fleet-sim` does: from source, tsx's kept function names cost each
// virtual device ~16 KB of heap (125 vs 92 MB at 2,000 devices) and the workers their GC time.
const simBundle = freshBundle('fleet-sim');
const started = Date.now();
const seed = await ensureSeed(values.cache!, Math.max(...all));
console.error('starting the cluster (fleet cluster up --nodes 3) …');
let cluster: LocalCluster | undefined;
let peerDir: string | undefined;
const cleanUp = async () => {
  await cluster?.destroy();
  cluster = undefined;
  if (peerDir) rmSync(peerDir, { recursive: true, force: true });
};
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    stopping = true;
    console.error(`\n${sig}: stopping the cluster …`);
    void cleanUp().finally(() => process.exit(130));
  });
}

const result: Record<string, unknown> = {};
try {
  cluster = await startLocalCluster(seed, NODE_CONFIG);
  const c = cluster;
  const view = pgStoredView(c.postgresUrl);
  const nodeList = c.nodes.map((n) => n.mqtt).join(',');
  await sleep(3000);
  const idleRss = c.nodesRss();
  console.error(`cluster up in ${c.dir}: nodes ${mb(idleRss)} MB RSS together, idle`);

  // 1 and 2. The largest steady fleet over the nodes' server lists, and memory per device.
  const steady: Run[] = [];
  // At most 2 s in --quick (the test suite's run): the machine is never quiet while other tests run beside it.
  const quiet = async () => {
    const waited = await waitForQuiet({ maxMs: quick ? 2000 : 120_000 });
    if (waited > 5) console.error(`   waited ${waited} s for the machine to be quiet after the last run`);
  };
  for (const n of sizes) {
    console.error(`\n── steady, ${fmt(n)} devices over 3 nodes by server lists ──`);
    const run = await simulate({
      server: nodeList,
      n,
      scenario: 'steady',
      durationMs: holdMs,
      view,
      rss: c.nodesRss,
      latencyLimit: true,
    });
    steady.push(run);
    console.error(`   ${run.why}`);
    if (!run.pass && !values['keep-going']) break;
    await quiet();
  }

  // 5. HAProxy's part: the same through its one front port.
  await quiet();
  const haproxy: Run[] = [];
  for (const n of haproxySizes) {
    console.error(`\n── steady, ${fmt(n)} devices through HAProxy ${c.front} ──`);
    const run = await simulate({
      server: c.front,
      n,
      scenario: 'steady',
      durationMs: holdMs,
      view,
      latencyLimit: true,
    });
    haproxy.push(run);
    console.error(`   ${run.why}`);
    if (!run.pass && !values['keep-going']) break;
    await quiet();
  }

  // 3. QoS 1 throughput: the cluster against one node on SQLite (a copy of the same fleet), same devices.
  console.error(`\n── throughput, ${fmt(tpDevices)} devices, the cluster ──`);
  const tpCluster = await simulate({ server: nodeList, n: tpDevices, scenario: 'throughput', durationMs: tpMs, view });
  peerDir = mkdtempSync(join(tmpdir(), 'edgeward-bench-peer-'));
  copyFleet(seed, join(peerDir, 'fleet'));
  const config = join(peerDir, 'config.json');
  writeFileSync(config, JSON.stringify(NODE_CONFIG));
  const { proc: peer, mqttPort: port } = await startServe({ data: join(peerDir, 'fleet'), config });
  let tpSingle: Run;
  try {
    console.error(`\n── throughput, ${fmt(tpDevices)} devices, one node on SQLite ──`);
    const sqlite = sqliteStoredView(join(peerDir, 'fleet', 'fleet.db'));
    tpSingle = await simulate({
      server: `mqtts://127.0.0.1:${port}`,
      n: tpDevices,
      scenario: 'throughput',
      durationMs: tpMs,
      view: sqlite,
    });
    sqlite.close();
  } finally {
    await peer.stop();
  }

  // 4. SIGKILL a node under a steady fleet.
  const passed = steady.filter((s) => s.pass).at(-1);
  const killN = Number(values['kill-devices'] ?? 0) || passed?.n || sizes[0]!;
  console.error(
    `\n── kill: ${fmt(killN)} devices over 3 nodes, node-1 SIGKILLed ${killAfterMs / 1000} s into the window ──`,
  );
  const victim = c.nodes[0]!;
  let onVictim = -1;
  let killedAt = 0;
  let reconnectedMs: number | null = null;
  let lowest = Number.POSITIVE_INFINITY;
  const kill = await simulate({
    server: nodeList,
    n: killN,
    scenario: 'steady',
    durationMs: killAfterMs + reconnectBoundMs + killAfterMs,
    view,
    reconnect: { minSeconds: 1, maxSeconds: 10 },
    onWindow: (sim) => {
      void (async () => {
        await sleep(killAfterMs);
        onVictim = await c.connectedOn(victim);
        killedAt = Date.now();
        process.kill(c.pid(victim.id)!, 'SIGKILL');
        console.error(`   killed ${victim.id} holding ${fmt(onVictim)} devices`);
        // Back when the survivors hold every device (their /healthz counts, polled: the simulator's own count is
        // sampled too seldom to see a dip that lasts a second). Ended after a few intervals more through them.
        const survivors = c.nodes.filter((n) => n !== victim);
        while (reconnectedMs === null && Date.now() - killedAt < reconnectBoundMs) {
          const held = (await Promise.all(survivors.map((n) => c.connectedOn(n)))).reduce((a, b) => a + b, 0);
          if (held >= killN) reconnectedMs = Date.now() - killedAt;
          else await sleep(250);
        }
        await sleep(Math.max(killAfterMs, 2 * interval * 1000));
        await sim.close();
      })();
    },
    onTick: (connected) => {
      if (killedAt !== 0) lowest = Math.min(lowest, connected);
    },
  });
  view.close();
  console.error(
    `   samples: ${kill.why}; ${
      reconnectedMs === null
        ? `not all connected again within ${reconnectBoundMs / 1000} s (--reconnect-bound)`
        : `all connected again after ${reconnectedMs / 1000} s`
    }`,
  );

  print(steady, haproxy, tpCluster, tpSingle, { kill, onVictim, reconnectedMs, lowest }, idleRss);
  Object.assign(result, {
    schema: 'edgeward.bench.cluster-scale/1',
    finishedAt: new Date().toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    machine: { cores: availableParallelism(), loadAverage: loadAverage() },
    settings: {
      intervalSeconds: interval,
      holdSeconds: holdMs / 1000,
      p99LimitMs: p99Limit,
      ramp,
      workers,
      simPriority,
    },
    latencyMeasured: 'ack = sample made → PUBACK at the device; e2e = sample made → received by a node',
    idleNodesRssBytes: idleRss,
    steady: steady.map(row),
    largestSteady: passed?.n ?? null,
    memoryPerDeviceBytes: passed ? Math.round((passed.nodesRss - idleRss) / passed.n) : null,
    haproxy: haproxy.map(row),
    largestThroughHaproxy: haproxy.filter((s) => s.pass).at(-1)?.n ?? null,
    throughput: {
      devices: tpDevices,
      clusterPerSecond: tpCluster.r?.messagesPerSecond ?? null,
      singleSqlitePerSecond: tpSingle.r?.messagesPerSecond ?? null,
      ratio: ratio(tpCluster, tpSingle),
      clusterLost: tpCluster.r?.lost ?? null,
      singleLost: tpSingle.r?.lost ?? null,
    },
    kill: {
      devices: killN,
      killed: victim.id,
      devicesOnKilledNode: onVictim,
      lowestConnected: Number.isFinite(lowest) ? lowest : null,
      reconnectSeconds: reconnectedMs === null ? null : reconnectedMs / 1000,
      sent: kill.r?.messagesSent ?? null,
      stored: kill.r?.messagesStored ?? null,
      notStored: kill.r?.lost ?? null,
      notStoredStillWaiting: kill.waiting,
      acknowledgedLost: kill.ackedLost,
      storedTwice: kill.duplicates,
      resent: kill.r?.duplicates ?? null,
      ok: kill.r !== undefined && kill.r.lost === 0 && kill.duplicates === 0 && reconnectedMs !== null,
      acknowledgedOk: kill.r !== undefined && kill.ackedLost === 0 && kill.duplicates === 0,
    },
    target: { devices: 25_000, met: (passed?.n ?? 0) >= 25_000 },
  });
  if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await cleanUp();
}

function ratio(a: Run, b: Run): number | null {
  const x = a.r?.messagesPerSecond;
  const y = b.r?.messagesPerSecond;
  return x && y ? Math.round((x / y) * 100) / 100 : null;
}

function row(s: Run) {
  return {
    devices: s.n,
    pass: s.pass,
    why: s.why,
    connectSeconds: s.r?.connectSeconds ?? null,
    messagesPerSecond: s.r?.messagesPerSecond ?? null,
    ackP50Ms: s.r?.ackLatencyMs.p50 ?? null,
    ackP99Ms: s.r?.ackLatencyMs.p99 ?? null,
    e2eP99Ms: s.r?.latencyMs.p99 ?? null,
    simulatorLoopDelayP99Ms: s.r?.simulatorLoopDelayMs?.p99 ?? null,
    samplesSkippedInWindow: s.r?.samplesSkipped?.window ?? null,
    sent: s.r?.messagesSent ?? null,
    stored: s.r?.messagesStored ?? null,
    lost: s.r?.lost ?? null,
    storedTwice: s.duplicates,
    nodesRssBytes: s.nodesRss || null,
    loadAverage: s.load,
  };
}

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((t) => t[i]!.length)));
  console.log(head.map((h, i) => h.padStart(widths[i]!)).join('  '));
  for (const t of rows) console.log(t.map((v, i) => (i === t.length - 1 ? v : v.padStart(widths[i]!))).join('  '));
}

function steadyRows(runs: Run[], idleRss: number | null): string[][] {
  return runs.map((s) => [
    fmt(s.n),
    s.r?.connectSeconds ? fmt(s.r.connectSeconds, 1) : '—',
    s.r ? fmt(s.r.messagesPerSecond) : '—',
    s.r ? fmt(s.r.ackLatencyMs.p50) : '—',
    s.r ? fmt(s.r.ackLatencyMs.p99) : '—',
    s.r ? fmt(s.r.latencyMs.p99) : '—',
    s.r?.simulatorLoopDelayMs ? fmt(s.r.simulatorLoopDelayMs.p99) : '—',
    s.r ? `${fmt(s.r.lost)}/${fmt(s.duplicates)}` : '—',
    idleRss !== null && s.nodesRss ? `${mb(s.nodesRss)} / ${kb((s.nodesRss - idleRss) / s.n)}` : '—',
    s.load.toFixed(1),
    s.why,
  ]);
}

function print(
  steady: Run[],
  haproxy: Run[],
  tpCluster: Run,
  tpSingle: Run,
  k: { kill: Run; onVictim: number; reconnectedMs: number | null; lowest: number },
  idleRss: number,
): void {
  const head = [
    'devices',
    'connect s',
    'msg/s',
    'ack p50',
    'ack p99',
    'e2e p99',
    'sim lag p99',
    'lost/twice',
    'nodes MB / KB per dev',
  ];
  console.log(
    `\ncluster-scale: 3 nodes + Redis + PostgreSQL + HAProxy and the simulator (${workers} workers at nice ` +
      `${simPriority}, standing in for devices with CPUs of their own) on this ` +
      `${availableParallelism()}-core machine (shared: load average in the table); telemetry every ${interval} s, ` +
      `${holdMs / 1000} s measured per size from one interval after the last device connected (longer while ` +
      `the simulator caught up); pass = all connected, every sample taken on time, nothing lost or stored ` +
      `twice, ack and e2e p99 < ${p99Limit} ms. Latency in ms: ack = sample made → PUBACK at the device ` +
      "(after the commit), e2e = sample made → received by a node; sim lag = the simulator's own event-loop delay " +
      '(both latencies include it).\n',
  );
  console.log('steady, devices spread over the nodes by their server lists (random pick):');
  table([...head, 'load', 'result'], steadyRows(steady, idleRss));
  const best = steady.filter((s) => s.pass).at(-1);
  console.log(
    `  largest fleet holding a ${interval} s interval with p99 < ${p99Limit} ms: ` +
      `${best ? `${fmt(best.n)} devices` : 'none of the sizes'} (target ≥ 25,000 across the cluster)`,
  );
  if (best)
    console.log(
      `  memory: nodes ${mb(best.nodesRss)} MB RSS together at ${fmt(best.n)} devices, ${mb(idleRss)} MB idle: ` +
        `${kb((best.nodesRss - idleRss) / best.n)} KB per device`,
    );
  console.log('\nsteady through HAProxy (one front port, TLS passthrough; maxconn 8000, 2 descriptors a device):');
  table([...head, 'load', 'result'], steadyRows(haproxy, null));
  const hbest = haproxy.filter((s) => s.pass).at(-1);
  console.log(`  largest fleet through HAProxy: ${hbest ? `${fmt(hbest.n)} devices` : 'none of the sizes'}`);
  const tp = (r: Run) => (r.r ? `${fmt(r.r.messagesPerSecond)} msg/s (${fmt(r.r.lost)} lost)` : r.why);
  console.log(`\nQoS 1 telemetry throughput, ${fmt(tpDevices)} devices publishing as fast as acknowledged:`);
  console.log(`  cluster (3 nodes, PostgreSQL)   ${tp(tpCluster)}`);
  console.log(`  one node on SQLite              ${tp(tpSingle)}`);
  console.log(`  ratio cluster / single          ${ratio(tpCluster, tpSingle) ?? '—'}`);
  const r = k.kill.r;
  const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : fmt(v));
  const back =
    k.reconnectedMs === null ? `more than ${reconnectBoundMs / 1000} s` : `${fmt(k.reconnectedMs / 1000, 1)} s`;
  console.log(`\nnode killed (SIGKILL) under ${fmt(k.kill.n)} steady devices with server lists:`);
  console.log(
    `  ${fmt(k.onVictim)} devices on the killed node; fewest connected ${num(k.lowest)}; ` +
      `all ${fmt(k.kill.n)} connected again after ${back} (target ≤ 60 s)`,
  );
  console.log(
    `  samples made ${num(r?.messagesSent)}, stored in PostgreSQL ${num(r?.messagesStored)}, not stored ` +
      `${num(r?.lost)} (${fmt(k.kill.waiting)} still unacknowledged in devices' outboxes; acknowledged but not ` +
      `stored ${fmt(k.kill.ackedLost)}), stored twice ${fmt(k.kill.duplicates)}, ` +
      `resent by devices ${num(r?.duplicates)}`,
  );
}
