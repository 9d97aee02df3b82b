// A flooding device is throttled to its rate while honest devices keep flowing; their latency is reported.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAgent, createFakePlatform, type Agent } from '../../agent/src/index.js';
import { parseFleetConfig } from '../../broker/src/config.js';
import { deviceTopic, encode } from '../../shared/src/index.js';
import { createTestFleet, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;
const honestIds = ['gw-h1', 'gw-h2', 'gw-h3', 'gw-h4', 'gw-h5'];
const latency = { quiet: [] as number[], flood: [] as number[] };
let phase: keyof typeof latency = 'quiet';

test.before(async () => {
  fleet = await createTestFleet(honestIds);
  await fleet.addDevice('gw-flooder', { deviceType: 'metered' });
  await fleet.start({
    config: parseFleetConfig({
      deviceTypes: {
        metered: {
          messagesPerSecond: 50,
          burstMessages: 50,
          bytesPerSecond: 1e6,
          burstBytes: 1e6,
          disconnectAfterSeconds: 30,
        },
      },
    }),
    onStored: (e) => {
      if (e.kind === 'telemetry' && e.deviceId.startsWith('gw-h'))
        for (const s of e.message.samples) latency[phase].push(e.storedAt - s.ts);
    },
  });
});
test.after(async () => {
  await fleet.close();
});

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;

test('a flooder is held to its rate; honest devices deliver every sample exactly once meanwhile', async () => {
  const agents: Agent[] = [];
  for (const [i, id] of honestIds.entries())
    agents.push(
      await createAgent({
        config: fleet.agentConfig(id, { telemetryIntervalSeconds: 1 }),
        platform: createFakePlatform(i + 1),
        log: testLogger(),
      }),
    );
  await waitFor(() => agents.every((a) => a.stats().lastAckedSequence >= 3), 'honest baseline');

  phase = 'flood';
  const flooder = await fleet.connect('gw-flooder');
  let acked = 0;
  let seq = 1;
  let running = true;
  const send = (): void => {
    if (!running || !flooder.connected) return;
    const n = seq++;
    flooder.publish(
      deviceTopic('gw-flooder', 'telemetry'),
      encode({
        v: 1,
        id: `flood-${n}-xxxx`,
        ts: Date.now(),
        stream: 'flood-stream-1',
        samples: [{ seq: n, ts: Date.now(), m: { x: n } }],
      }),
      { qos: 1 },
      (err) => {
        if (!err && running) acked++;
        send();
      },
    );
  };
  const t0 = Date.now();
  for (let i = 0; i < 100; i++) send();
  const before = agents.map((a) => a.stats().lastAckedSequence);
  await waitFor(
    () => agents.every((a, i) => a.stats().lastAckedSequence >= before[i]! + 3),
    'honest samples during the flood',
    20_000,
  );
  running = false;
  const elapsed = (Date.now() - t0) / 1000;
  flooder.end(true);
  phase = 'quiet';

  // What the flooder got through (it keeps 100 publishes in flight at all times) is bounded by burst + rate × time.
  assert.ok(acked <= 50 + 50 * elapsed * 1.1 + 10, `acknowledged ${acked} in ${elapsed.toFixed(1)} s at 50/s`);
  assert.ok(fleet.server.metrics.throttles.get() > 0);
  assert.ok(
    (fleet.db
      .prepare(`SELECT count(*) FROM audit WHERE event = 'rate.throttled' AND device_id = 'gw-flooder'`)
      .pluck()
      .get() as number) >= 1,
  );

  for (const a of agents) await a.close();
  for (const [i, id] of honestIds.entries()) {
    const seqs = fleet.db
      .prepare('SELECT seq FROM telemetry WHERE device_id = ? ORDER BY seq')
      .pluck()
      .all(id) as number[];
    assert.equal(
      seqs,
      Array.from({ length: agents[i]!.stats().lastSequence }, (_, k) => k + 1),
      `${id}: every sample once, no gap`,
    );
  }
  console.log(
    `honest latency (sample → stored), quiet: n=${latency.quiet.length} p50=${pct(latency.quiet, 0.5)} ms ` +
      `p99=${pct(latency.quiet, 0.99)} ms; ` +
      `during flood: n=${latency.flood.length} p50=${pct(latency.flood, 0.5)} ms p99=${pct(latency.flood, 0.99)} ` +
      `ms; flooder offered ${seq - 1}, acknowledged ${acked} in ${elapsed.toFixed(1)} s`,
  );
});

test.run();
