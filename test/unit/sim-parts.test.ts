// Simulator parts that need no server: histograms, rates and names, target checks, the result schema, the
// scenario registry and the outbox tracker that counts latency, pending and resent samples.
import { failsInDrill } from '../../simulator/src/device-pool.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryOutbox } from '../../agent/src/index.js';
import { UsageError } from '../../shared/src/index.js';
import { parseRate } from '../../simulator/src/cli.js';
import { demoCommand } from '../../simulator/src/demo.js';
import { simIds } from '../../simulator/src/identities.js';
import { createHistogram } from '../../simulator/src/metrics.js';
import { resolveOptions } from '../../simulator/src/options.js';
import { checkResult, RESULT_SCHEMA_ID } from '../../simulator/src/result.js';
import { getScenario, SCENARIOS } from '../../simulator/src/scenarios/index.js';
import { peakPerSecond } from '../../simulator/src/scenarios/reconnect-storm.js';
import { deviceAddress, isLoopbackHost, rogueAddress } from '../../simulator/src/source-addresses.js';
import { trackOutbox } from '../../simulator/src/tracked-outbox.js';
import { errorKind } from '../../simulator/src/virtual-device.js';
import { withoutTsx, workerPool } from '../../simulator/src/workers/pool-handle.js';
import type { PoolSpec } from '../../simulator/src/device-pool.js';
import { writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { tmpDir } from '../helpers/tmp.js';

test("a bundled worker runs without tsx's loader, and with every other flag of its parent", () => {
  assert.equal(
    withoutTsx(['--import', 'tsx', '--max-old-space-size=4096', '--import=tsx/esm', '--enable-source-maps']),
    ['--max-old-space-size=4096', '--enable-source-maps'],
  );
  assert.equal(withoutTsx(['--import', './hook.mjs', '--loader', 'tsx']), ['--import', './hook.mjs']);
});

test('a worker runs at the priority it is given; one the system refuses is told, and the worker runs anyway', () => {
  // A stand-in worker script: it only has to live while its priority is read.
  const script = join(tmpDir('edgeward-sim-priority-'), 'worker.js');
  writeFileSync(script, 'setTimeout(() => {}, 30_000);\n');
  const spec = { index: 0 } as PoolSpec;
  const lower = workerPool(spec, { script, priority: 7 });
  const notes: string[] = [];
  const refused = workerPool(spec, { script, priority: 40, onNote: (line) => notes.push(line) });
  try {
    assert.is(getPriority(lower.pid), 7);
    assert.is(getPriority(refused.pid), getPriority());
    assert.is(notes.length, 1);
    assert.match(notes[0]!, /simulator worker 0: priority 40 refused/);
  } finally {
    lower.kill();
    refused.kill();
  }
});

test('a worker priority outside -20 to 19, or not an integer, is a usage error', () => {
  const base = { server: 'mqtts://127.0.0.1:8883', dataDir: '/nowhere', devices: 10, scenario: 'steady' };
  assert.is(resolveOptions({ ...base, workerPriority: -5 }).workerPriority, -5);
  assert.not.ok('workerPriority' in resolveOptions(base), 'unset: the workers run at this process priority');
  for (const bad of [-21, 20, 1.5, Number.NaN])
    assert.throws(
      () => resolveOptions({ ...base, workerPriority: bad }),
      (e: unknown) => e instanceof UsageError && /worker priority must be an integer from -20 to 19/.test(String(e)),
      String(bad),
    );
});

test('histogram: exact below 64 ms, within 3% above, mergeable through its sparse form', () => {
  const h = createHistogram();
  for (let i = 1; i <= 100; i++) h.record(i);
  assert.is(h.percentile(0.5), 50);
  const p99 = h.percentile(0.99);
  assert.ok(p99 >= 99 && p99 <= 102, `p99 ${p99}`);
  assert.is(h.summary().max, 100);
  const big = createHistogram();
  for (let i = 0; i < 1000; i++) big.record(10_000 + i);
  const p50 = big.percentile(0.5);
  assert.ok(Math.abs(p50 - 10_500) / 10_500 < 0.03, `p50 ${p50}`);
  const merged = createHistogram(h.sparse());
  merged.add(big.sparse());
  assert.is(merged.count, 1100);
  assert.is(merged.max, 10_999);
  assert.is(createHistogram().summary().p99, 0);
});

test('rates, ids and addresses', () => {
  assert.is(parseRate('500/s'), 500);
  assert.is(parseRate('250'), 250);
  assert.is(parseRate('600/m'), 10);
  assert.throws(
    () => parseRate('fast'),
    (e: unknown) => e instanceof UsageError,
  );
  // The same names as `fleet device add --bulk N --prefix P`, so identities issued by either are shared.
  assert.equal(simIds('sim-', 3), ['sim-00001', 'sim-00002', 'sim-00003']);
  assert.is(simIds('x-', 123_456)[0], 'x-000001');
  assert.is(deviceAddress(0), '127.0.0.2');
  assert.is(deviceAddress(249), '127.0.0.251');
  assert.is(deviceAddress(250), '127.0.0.2');
  assert.not.equal(rogueAddress(0), deviceAddress(0));
});

test('load and attack runs target loopback only, unless explicitly allowed', () => {
  for (const h of ['127.0.0.1', '127.3.2.1', 'localhost', '::1']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['10.0.0.1', '192.168.1.5', 'fleet.example', '::ffff:10.0.0.1']) assert.not.ok(isLoopbackHost(h), h);
  const base = { dataDir: '/nowhere', devices: 10, scenario: 'steady' };
  assert.throws(() => resolveOptions({ ...base, server: 'mqtts://10.0.0.1:8883' }), /--allow-remote/);
  assert.is(resolveOptions({ ...base, server: 'mqtts://10.0.0.1:8883', allowRemote: true }).serverHost, '10.0.0.1');
  assert.throws(() => resolveOptions({ ...base, server: 'mqtt://127.0.0.1:1883' }), /mqtts/);
  assert.is(resolveOptions({ ...base, server: 'mqtts://localhost:9999' }).serverHost, '127.0.0.1');
  // A cluster's nodes as one comma list: every one on loopback, each once, at most 16.
  const list = resolveOptions({ ...base, server: 'mqtts://127.0.0.1:1001, mqtts://127.0.0.1:1002' });
  assert.equal(list.servers, [
    { host: '127.0.0.1', port: 1001 },
    { host: '127.0.0.1', port: 1002 },
  ]);
  assert.equal([list.serverHost, list.serverPort], ['127.0.0.1', 1001]);
  assert.throws(() => resolveOptions({ ...base, server: 'mqtts://127.0.0.1:1,mqtts://10.0.0.1:2' }), /--allow-remote/);
  assert.throws(() => resolveOptions({ ...base, server: 'mqtts://127.0.0.1:1,mqtts://localhost:1' }), /twice/);
  const many = Array.from({ length: 17 }, (_, i) => `mqtts://127.0.0.1:${1000 + i}`).join(',');
  assert.throws(() => resolveOptions({ ...base, server: many }), /at most 16/);
  assert.throws(
    () => resolveOptions({ ...base, server: 'mqtts://127.0.0.1:8883', telemetryIntervalSeconds: 0.5 }),
    (e: unknown) => e instanceof UsageError,
  );
});

test('scenarios: steady, reconnect-storm, attack, throughput and rollout; a drill fails the same devices', () => {
  assert.equal(
    SCENARIOS.map((s) => s.name),
    ['steady', 'reconnect-storm', 'attack', 'throughput', 'rollout'],
  );
  assert.is(getScenario('rollout').name, 'rollout');
  // The failing share is exact over the fleet and spread evenly (so every stage gets its part).
  const failing = (n: number, rate: number) =>
    Array.from({ length: n }, (_, i) => i).filter((i) => failsInDrill(i, rate));
  assert.is(failing(1000, 0.2).length, 200);
  assert.is(failing(1000, 0).length, 0);
  assert.is(failing(1000, 1).length, 1000);
  assert.is(failing(100, 0.3).filter((i) => i < 10).length, 3);
  assert.throws(
    () => getScenario('chaos'),
    (e: unknown) => e instanceof UsageError && /steady/.test((e as Error).message),
  );
  assert.is(getScenario('attack').name, 'attack');
});

test('tracked outbox: latency only inside the window, pending up to the cutoff, resends counted', () => {
  let now = 1000;
  const seen: [number, boolean][] = [];
  let resent = 0;
  // The pool's running totals: made before the cutoff, and of those not acknowledged yet.
  let made = 0;
  let pending = 0;
  const { outbox, tally } = trackOutbox(
    createMemoryOutbox({ maxSamples: 100 }),
    {
      made: () => void (made++, pending++),
      settled: () => void pending--,
      acked: (ms, m) => void seen.push([ms, m]),
      resent: (n) => void (resent += n),
    },
    () => now,
  );
  outbox.addSample(now, { a: 1 }); // seq 1, before the window
  tally.startWindow();
  outbox.addSample(now, { a: 2 }); // 2
  outbox.addSample(now, { a: 3 }); // 3
  assert.is(outbox.samplesAfter(0, 10).length, 3);
  // A reconnect: the sender asks again from the start.
  assert.is(outbox.samplesAfter(0, 10).length, 3);
  assert.is(resent, 3);
  now = 1250;
  outbox.ackSamples(1, 2);
  assert.equal(seen, [
    [250, false],
    [250, true],
  ]);
  outbox.addSample(now, { a: 4 }); // 4
  tally.endWindow();
  outbox.addSample(now, { a: 5 }); // 5, after the cutoff
  assert.is(tally.cutoff, 4);
  assert.is(tally.pending(), 2, 'seq 3 and 4 are waiting; 5 is after the cutoff');
  assert.equal([made, pending], [4, 2]);
  outbox.ackSamples(3, 5);
  assert.is(tally.pending(), 0);
  assert.equal([made, pending], [4, 0]);
  assert.equal(
    seen.slice(2).map(([, m]) => m),
    [true, true, false],
  );
});

test('connection errors are named by kind', () => {
  const e = (code: unknown, message = 'x') => Object.assign(new Error(message), { code });
  assert.is(errorKind(e('ECONNREFUSED')), 'connection-refused');
  assert.is(errorKind(e('ECONNRESET')), 'connection-reset');
  assert.is(errorKind(e(5)), 'connack-refused-5');
  assert.is(errorKind(e(undefined, 'connack timeout')), 'timeout');
  assert.is(errorKind(e('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA')), 'tls');
  assert.is(errorKind(e('EMFILE')), 'out-of-file-descriptors');
});

test('the result schema: a complete result passes, a wrong or missing field is refused with its path', () => {
  const l = { count: 1, p50: 1, p99: 2, max: 3 };
  const good = {
    schema: RESULT_SCHEMA_ID,
    scenario: 'steady',
    server: 'mqtts://127.0.0.1:8883',
    startedAt: 'x',
    finishedAt: 'y',
    workers: 2,
    devices: 10,
    telemetryIntervalSeconds: 10,
    durationSeconds: 5,
    connected: 10,
    connectSeconds: 1.5,
    connectRate: { mean: 7, peak: 10 },
    messagesSent: 50,
    messagesStored: 50,
    lost: 0,
    duplicates: 0,
    messagesPerSecond: 1,
    latencyMs: l,
    ackLatencyMs: l,
    errors: {},
    disconnects: 0,
    exposureReports: { sent: 10, stored: 10 },
    commandAcks: {},
    memory: { simulatorRssBytes: 1, perDeviceBytes: 1 },
    invariants: [{ name: 'no-loss', ok: true, detail: '' }],
    ok: true,
  };
  assert.is(checkResult(good).devices, 10);
  assert.ok(checkResult({ ...good, scenario: 'attack', attempts: { flood: 2 }, denied: { flood: 2 } }).attempts);
  assert.throws(() => checkResult({ ...good, lost: -1 }), /lost/);
  assert.throws(() => checkResult({ ...good, latencyMs: { p50: 1 } }), /latencyMs\.p99/);
  assert.throws(() => checkResult({ ...good, surprise: 1 }), /surprise: unknown key/);
});

test(
  'reconnect peak: the most connects within one second of polls, also for a storm over before ' + 'the first tick',
  () => {
    const polls = (pairs: [number, number][]) => pairs.map(([at, connects]) => ({ at, connects }));
    // All 150 back between the cut and the first poll after it.
    assert.is(
      peakPerSecond(
        polls([
          [0, 10],
          [100, 160],
        ]),
      ),
      150,
    );
    // 40 in the first second, then 100 within the next second: the busiest window counts.
    assert.is(
      peakPerSecond(
        polls([
          [0, 0],
          [500, 20],
          [1000, 40],
          [1500, 90],
          [2000, 140],
        ]),
      ),
      100,
    );
    assert.is(peakPerSecond(polls([[0, 5]])), 0);
  },
);

test('demo: --nodes goes with --cluster; bad counts and ports are usage errors before anything starts', async () => {
  for (const [argv, why] of [
    [['--nodes', '3'], /--nodes goes with --cluster/],
    [['--cluster', '--nodes', '0'], /--nodes/],
    [['--cluster', '--nodes', 'three'], /--nodes/],
    [['--cluster', '--devices', '-1'], /--devices/],
    [['--cluster', '--mqtt-port', '70000'], /--mqtt-port/],
  ] as const) {
    const err = await demoCommand([...argv, '--data', '/nonexistent/edgeward-demo']).then(
      () => assert.unreachable(argv.join(' ')) as never,
      (e: Error) => e,
    );
    assert.instance(err, UsageError, `${argv.join(' ')}: ${err.message}`);
    assert.match(err.message, why);
  }
});

test.run();
