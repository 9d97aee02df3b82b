// fleet-sim steady against a real fleet server (in this process, real mTLS sockets): every device connects with
// its own certificate, every sample is stored once, exposure reports reach the server, identities are reused.
import { type AddressInfo, createServer } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkResult, createSimulator, ensureIdentities, simIds } from '../../simulator/src/index.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet();
  await fleet.start();
});
test.after(async () => fleet?.close());

test('steady: 100 devices send telemetry and exposure reports; nothing lost; the result is valid', async () => {
  const stages: [string, number][] = [];
  const sim = await createSimulator({
    server: fleet.url(),
    serverApi: `https://127.0.0.1:${fleet.server.httpPort}`,
    dataDir: fleet.dataDir,
    devices: 100,
    scenario: 'steady',
    durationMs: 3000,
    telemetryIntervalSeconds: 1,
    rampPerSecond: 500,
    workers: 0,
    settleMs: 1000,
    onStage: (stage) => stages.push([stage, Date.now()]),
  });
  const r = await sim.done;
  // Measured from a second after every device connected (--settle), not from the end of the ramp.
  assert.equal(
    stages.slice(0, 4).map(([name]) => name),
    ['connecting', 'settling', 'steady', 'draining'],
  );
  assert.ok(stages[2]![1] - stages[1]![1] >= 1000, 'settled a second');
  assert.equal(checkResult(JSON.parse(JSON.stringify(r))), r, 'the JSON form passes the schema');
  assert.ok(r.ok, JSON.stringify(r.invariants));
  assert.is(r.devices, 100);
  assert.is(r.connected, 100);
  assert.ok(r.messagesSent >= 300, `${r.messagesSent} samples`);
  assert.is(r.messagesStored, r.messagesSent, 'counted by the server');
  assert.is(r.lost, 0);
  assert.ok(r.latencyMs.count > 0 && r.latencyMs.p99 >= r.latencyMs.p50);
  assert.ok(r.ackLatencyMs.count > 0);
  // The simulator's own event-loop delay (in this process, beside the server) is reported with the latencies.
  assert.ok(r.simulatorLoopDelayMs && r.simulatorLoopDelayMs.max >= r.simulatorLoopDelayMs.p99);
  // So are the ticks it ran too late to sample (none a second late with 100 devices).
  assert.ok(r.samplesSkipped && r.samplesSkipped.run >= r.samplesSkipped.window, JSON.stringify(r.samplesSkipped));
  // Every device sent its first exposure report within one interval; the server stored them with scores.
  assert.is(r.exposureReports.sent, 100);
  assert.is(r.exposureReports.stored, 100);
  const posture = fleet.db
    .prepare(
      `SELECT count(DISTINCT device_id) AS n, min(score) AS lo, max(score) AS hi FROM exposure_reports ` +
        `WHERE device_id LIKE 'sim-%'`,
    )
    .get() as { n: number; lo: number; hi: number };
  assert.is(posture.n, 100);
  assert.ok(posture.lo < posture.hi, 'a realistic mix, not one report copied');
  // The server's own rows (devices keep sampling until they are closed, so a few more than the run counted),
  // each device on its own certificate.
  const rows = fleet.db.prepare(`SELECT count(*) FROM telemetry WHERE device_id LIKE 'sim-%'`).pluck().get() as number;
  assert.ok(rows >= r.messagesStored && rows <= r.messagesStored + 300, `${rows} rows`);
  const certs = fleet.db
    .prepare(`SELECT count(DISTINCT serial) FROM connections WHERE device_id LIKE 'sim-%'`)
    .pluck()
    .get() as number;
  assert.is(certs, 100);
  const addresses = fleet.db
    .prepare(`SELECT count(DISTINCT address) FROM connections WHERE device_id LIKE 'sim-%'`)
    .pluck()
    .get() as number;
  assert.is(addresses, 100, 'spread over loopback source addresses');
});

test('throughput: devices keep their outbox full and publish as fast as acknowledged, nothing lost', async () => {
  const r = await (
    await createSimulator({
      server: fleet.url(),
      serverApi: `https://127.0.0.1:${fleet.server.httpPort}`,
      dataDir: fleet.dataDir,
      devices: 30,
      prefix: 'tp-',
      scenario: 'throughput',
      durationMs: 2000,
      rampPerSecond: 500,
      workers: 0,
    })
  ).done;
  assert.ok(r.ok, JSON.stringify(r.invariants));
  assert.is(r.telemetryIntervalSeconds, 0);
  // Far more than one sample per device per second: the outbox is drained as fast as PUBACKs come back.
  assert.ok(r.messagesPerSecond > 30 * 5, `${r.messagesPerSecond} samples/s`);
  assert.is(r.messagesStored, r.messagesSent);
  assert.is(r.exposureReports.sent, 0);
});

test('a server list: each device picks one at random and fails over from a dead one; nothing lost', async () => {
  // A port that was free a moment ago: nothing listens there, so devices that pick it first move on.
  const dead = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
  const r = await (
    await createSimulator({
      server: `mqtts://127.0.0.1:${dead},${fleet.url()}`,
      serverApi: `https://127.0.0.1:${fleet.server.httpPort}`,
      dataDir: fleet.dataDir,
      devices: 20,
      prefix: 'list-',
      scenario: 'steady',
      durationMs: 2000,
      telemetryIntervalSeconds: 1,
      rampPerSecond: 500,
      reconnect: { minSeconds: 0.1, maxSeconds: 1 },
      exposureEveryMs: 0,
      workers: 0,
    })
  ).done;
  assert.ok(r.ok, JSON.stringify(r.invariants));
  assert.is(r.connected, 20);
  assert.is(r.lost, 0);
  // Some devices tried the dead server first (20 random picks of 2: all 20 on the live one is one chance in 10^6).
  assert.ok(r.errors && Object.values(r.errors).reduce((a, b) => a + b, 0) > 0, JSON.stringify(r.errors));
});

test('the settle goes on until the simulator has caught up, and ends at four settles if it never does', async () => {
  const run = async (prefix: string, settleMs: number, behindMs: number) => {
    const stages = new Map<string, number>();
    const notes: string[] = [];
    let behind: NodeJS.Timeout | undefined;
    const sim = await createSimulator({
      server: fleet.url(),
      serverApi: `https://127.0.0.1:${fleet.server.httpPort}`,
      dataDir: fleet.dataDir,
      devices: 5,
      prefix,
      scenario: 'steady',
      durationMs: 500,
      telemetryIntervalSeconds: 1,
      rampPerSecond: 500,
      exposureEveryMs: 0,
      workers: 0,
      settleMs,
      onStage: (stage) => {
        stages.set(stage, Date.now());
        clearInterval(behind);
        if (stage !== 'settling') return;
        // A simulator running behind: its event loop held 150 ms of every 200 for `behindMs`.
        const end = Date.now() + behindMs;
        behind = setInterval(() => {
          if (Date.now() >= end) return clearInterval(behind);
          const until = Date.now() + 150;
          while (Date.now() < until);
        }, 200);
      },
      onNote: (line) => notes.push(line),
    });
    const r = await sim.done;
    clearInterval(behind);
    return { r, settled: stages.get('steady')! - stages.get('settling')!, notes };
  };
  const caught = await run('behind-a-', 1000, 2000);
  assert.ok(caught.r.ok, JSON.stringify(caught.r.invariants));
  assert.ok(caught.settled >= 2000, `measuring began ${caught.settled} ms into the settle, before it caught up`);
  assert.not.ok(
    caught.notes.some((n) => n.includes('still behind')),
    JSON.stringify(caught.notes),
  );
  const never = await run('behind-b-', 500, 60_000);
  assert.ok(never.settled >= 2000 && never.settled < 6000, `measuring began ${never.settled} ms into the settle`);
  assert.ok(
    never.notes.some((n) => n.startsWith('the simulator was still behind after settling 2 s')),
    JSON.stringify(never.notes),
  );
});

test('identities are issued once: a second run finds them all', async () => {
  const again = await ensureIdentities(fleet.dataDir, simIds('sim-', 100));
  assert.is(again.issued, 0);
  const more = await ensureIdentities(fleet.dataDir, simIds('sim-', 103));
  assert.is(more.issued, 3);
});

test.run();
