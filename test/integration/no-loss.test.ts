// Store-and-forward, end to end over real mTLS and real SQLite files: the broker killed and restarted
// mid-stream, the agent SIGKILLed mid-stream, and a full outbox. Every sample arrives exactly once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { createAgent, readAgentStatus } from '../../agent/src/index.js';
import type { TelemetryMessage } from '../../shared/src/index.js';
import { startAgentProcess, writeAgentConfig } from '../helpers/agent-process.js';
import { createTestFleet, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';
import { agentCli } from '../helpers/run.js';

let fleet: TestFleet;
let port = 0;
/** Samples inserted per device, summed over every server instance (a duplicate insert would show here). */
const inserted = new Map<string, number>();
const dropped = new Map<string, number>();

const startServer = () =>
  fleet.start({
    mqttPort: port,
    onStored(e) {
      inserted.set(e.deviceId, (inserted.get(e.deviceId) ?? 0) + e.inserted);
      const d = (e.message as TelemetryMessage).dropped;
      if (e.kind === 'telemetry' && d !== undefined) dropped.set(e.deviceId, d);
    },
  });

test.before(async () => {
  fleet = await createTestFleet(['nl-broker', 'nl-sigkill', 'nl-bound']);
  port = (await startServer()).mqttPort;
});
test.after(async () => {
  await fleet.close();
});

const seqs = (id: string) =>
  fleet.db.prepare('SELECT seq FROM telemetry WHERE device_id = ? ORDER BY seq').pluck().all(id) as number[];
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('broker killed and restarted mid-stream: every sample arrives exactly once', async () => {
  const config = fleet.agentConfig('nl-broker', {
    telemetryIntervalSeconds: 3600,
    outbox: { maxBatch: 5, drainMessagesPerSecond: 500 },
  });
  const agent = await createAgent({ config, log: testLogger() });
  try {
    await waitFor(() => agent.connected, 'agent connected');
    const produce = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await agent.sampleNow();
        if (i % 10 === 0) await sleep(5);
      }
    };
    await produce(150);
    // Kill the broker while the stream is running: some samples acknowledged, others still waiting.
    await waitFor(() => agent.stats().lastAckedSequence >= 20, 'a first part acknowledged');
    await fleet.server.close();
    await produce(150); // offline: the outbox keeps them
    assert.ok(agent.stats().outboxDepth > 0, 'samples wait in the outbox while the broker is down');
    await startServer();
    await produce(50);
    const total = agent.stats().lastSequence;
    await waitFor(
      () => agent.stats().outboxDepth === 0 && seqs('nl-broker').length === total,
      'outbox drained',
      20_000,
    );
    assert.equal(seqs('nl-broker'), range(1, total), 'no gap, no duplicate');
    assert.is(inserted.get('nl-broker'), total, 'each sample inserted exactly once');
    assert.is(agent.stats().lastAckedSequence, total);
  } finally {
    await agent.close();
  }
});

test('agent SIGKILLed mid-stream and restarted: every sample arrives exactly once', async () => {
  const dir = fleet.deviceDir('nl-sigkill');
  const stateDir = join(dir, 'state');
  const file = writeAgentConfig(dir, {
    server: fleet.url(),
    deviceId: 'nl-sigkill',
    cert: 'device.crt',
    key: 'device.key',
    ca: 'ca.crt',
    stateDir: 'state',
    telemetryIntervalSeconds: 1,
    reconnect: { minSeconds: 0.1, maxSeconds: 1 },
    scan: { enabled: false },
    log: { level: 'warn' },
  });

  // 1. Connected and streaming: SIGKILL.
  let p = startAgentProcess(file);
  await waitFor(() => seqs('nl-sigkill').length >= 2, 'two samples stored', 20_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${p.output()}`);
  });
  assert.is(await p.kill('SIGKILL'), 'SIGKILL');

  // 2. Broker down, samples piling up in the outbox: SIGKILL again.
  await fleet.server.close();
  p = startAgentProcess(file);
  await waitFor(
    () => {
      const s = readAgentStatus(stateDir);
      return s.running && s.lastSequence - s.lastAckedSequence >= 2;
    },
    'two unacknowledged samples',
    20_000,
  );
  assert.is(await p.kill('SIGKILL'), 'SIGKILL');
  const killed = readAgentStatus(stateDir);
  assert.ok(killed.samples >= 2);

  // status reads the state folder of a dead agent.
  const st = await agentCli(['status', '--config', file, '--json']);
  assert.is(st.code, 0, st.output);
  const json = JSON.parse(st.stdout) as Record<string, unknown>;
  assert.is(json.connected, false);
  assert.is(json.running, false);
  assert.is(json.lastSequence, killed.lastSequence);
  assert.is(json.lastAckedSequence, killed.lastAckedSequence);
  assert.is(json.outboxDepth, killed.outboxDepth);
  assert.is(json.dropped, 0);
  const text = await agentCli(['status', '--config', file]);
  assert.match(text.stdout, /did not stop cleanly/);

  // 3. Broker back, agent restarted: the backlog drains, then a clean stop.
  await startServer();
  p = startAgentProcess(file);
  await waitFor(
    () => {
      const s = seqs('nl-sigkill');
      return s.length >= killed.lastSequence + 1 && s.length === s.at(-1);
    },
    'backlog delivered',
    20_000,
  );
  await waitFor(() => readAgentStatus(stateDir).connected, 'status says connected');
  assert.is(await p.kill('SIGTERM'), 0, p.output());
  const after = readAgentStatus(stateDir);
  assert.is(after.running, false);
  const stored = seqs('nl-sigkill');
  assert.equal(stored, range(1, after.lastAckedSequence), 'no gap, no duplicate');
  assert.is(inserted.get('nl-sigkill'), stored.length);
  assert.is(after.outboxDepth, after.lastSequence - after.lastAckedSequence, 'a clean stop leaves only unsent samples');
  assert.ok(after.stoppedAt !== null, 'a clean stop is recorded');
});

test('outbox past its bound: the oldest samples are dropped, and the drop is counted and reported', async () => {
  await fleet.server.close();
  const config = fleet.agentConfig('nl-bound', { telemetryIntervalSeconds: 3600, outbox: { maxSamples: 10 } });
  const agent = await createAgent({ config, log: testLogger() });
  try {
    for (let i = 0; i < 24; i++) await agent.sampleNow();
    const s = agent.stats();
    assert.is(s.samples, 10);
    assert.is(s.dropped, s.lastSequence - 10);
    assert.ok(s.dropped >= 14);
    await startServer();
    await waitFor(() => agent.stats().outboxDepth === 0, 'outbox drained', 20_000);
    assert.equal(seqs('nl-bound'), range(s.lastSequence - 9, s.lastSequence), 'the newest ten; the gap shows the drop');
    assert.is(dropped.get('nl-bound'), s.dropped, 'the telemetry message reports the drop count');
    assert.is(fleet.server.registry.get('nl-bound')!.dropped, s.dropped, 'and the fleet keeps it per device');
  } finally {
    await agent.close();
  }
});

test.run();
