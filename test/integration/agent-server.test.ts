// Agent → fleet server over real mutual TLS on loopback: telemetry is stored once, status is recorded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt from 'mqtt';
import { createAgent } from '../../agent/src/index.js';
import { deviceTopic, encode } from '../../shared/src/index.js';
import { createTestFleet, sealPublishes, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet(['gw-001', 'gw-002', 'gw-cut']);
  await fleet.start();
});
test.after(async () => {
  await fleet.close();
});

const rows = (id: string) =>
  fleet.db.prepare('SELECT count(*) FROM telemetry WHERE device_id = ?').pluck().get(id) as number;

test('agent telemetry arrives as rows over mTLS, and the broker acknowledges only stored samples', async () => {
  const agent = await createAgent({ config: fleet.agentConfig('gw-001'), log: testLogger() });
  try {
    await waitFor(() => agent.stats().lastAckedSequence >= 3, 'three acknowledged samples');
    const acked = agent.stats().lastAckedSequence;
    assert.ok(rows('gw-001') >= acked, 'every acknowledged sample is a row');
    const sample = fleet.db
      .prepare('SELECT seq, metrics FROM telemetry WHERE device_id = ? ORDER BY seq LIMIT 1')
      .get('gw-001') as { seq: number; metrics: string };
    assert.is(sample.seq, 1);
    const metrics = JSON.parse(sample.metrics) as Record<string, number>;
    for (const k of ['cpuLoad1', 'memUsedBytes', 'memTotalBytes', 'uptimeSeconds', 'diskTotalBytes'])
      assert.type(metrics[k], 'number', k);
    const device = fleet.server.registry.get('gw-001')!;
    assert.ok(device.online);
    assert.ok(device.lastSeen);
    assert.is(device.agentVersion, '0.1.0');
  } finally {
    await agent.close();
  }
  const statuses = fleet.db
    .prepare('SELECT state FROM status_history WHERE device_id = ? ORDER BY id')
    .pluck()
    .all('gw-001');
  assert.equal(statuses.slice(0, 1), ['online']);
  assert.is(statuses.at(-1), 'offline', 'a clean stop says offline');
  await waitFor(() => !fleet.server.registry.get('gw-001')!.online, 'device offline');
  assert.is(agent.stats().outboxDepth, 0);
});

test('a connection cut under a connected agent: its will is stored as offline, its session ends', async () => {
  const statuses = () =>
    fleet.db.prepare('SELECT state FROM status_history WHERE device_id = ? ORDER BY id').pluck().all('gw-cut');
  const agent = await createAgent({ config: fleet.agentConfig('gw-cut'), log: testLogger() });
  try {
    await waitFor(() => fleet.server.sessions.get('gw-cut') && statuses().includes('online'), 'the agent online');
    const before = statuses().length;
    const session = fleet.server.sessions.get('gw-cut')!;
    // The server side goes away without a DISCONNECT: aedes publishes the will on the device's behalf, which the
    // ACL checks against the session that is ending.
    (session.client.conn as unknown as { destroy(): void }).destroy();
    await waitFor(() => statuses().slice(before).includes('offline'), 'the will stored');
    await waitFor(() => fleet.server.sessions.get('gw-cut') !== session, 'the session ended');
  } finally {
    await agent.close();
  }
});

test('redelivered messages do not duplicate rows', async () => {
  const creds = fleet.credentials('gw-002');
  const client = await mqtt.connectAsync(fleet.url(), {
    clientId: 'gw-002',
    ...creds,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
  sealPublishes(client, 'gw-002', fleet.sealChannel('gw-002'));
  const message = {
    v: 1,
    id: 'dup-test-0001',
    ts: Date.now(),
    stream: 'stream-dup-1',
    samples: [
      { seq: 1, ts: Date.now(), m: { cpuLoad1: 0.5 } },
      { seq: 2, ts: Date.now(), m: { cpuLoad1: 0.6 } },
    ],
  };
  const topic = deviceTopic('gw-002', 'telemetry');
  await client.publishAsync(topic, encode(message), { qos: 1 });
  await client.publishAsync(topic, encode(message), { qos: 1, dup: true } as mqtt.IClientPublishOptions);
  // The same samples under a new message id (an agent that re-batched after a crash) are still stored once.
  await client.publishAsync(topic, encode({ ...message, id: 'dup-test-0002' }), { qos: 1 });
  await client.endAsync();
  assert.is(rows('gw-002'), 2);
  assert.is(fleet.server.registry.get('gw-002')!.telemetryCount, 2);
  const stats = fleet.server.ingest.stats();
  assert.ok(stats.duplicates >= 1);
});

test('an agent restarted with unacknowledged samples resends them once', async () => {
  const config = fleet.agentConfig('gw-001', { telemetryIntervalSeconds: 3600 });
  await fleet.server.close();
  // Offline: samples pile up in the outbox.
  const a1 = await createAgent({ config, log: testLogger() });
  await a1.sampleNow();
  await a1.sampleNow();
  const before = a1.stats();
  assert.ok(before.outboxDepth >= 3);
  await a1.close();
  const stored = rows('gw-001');
  await fleet.start();
  const a2 = await createAgent({
    config: fleet.agentConfig('gw-001', { telemetryIntervalSeconds: 3600 }),
    log: testLogger(),
  });
  try {
    await waitFor(() => a2.stats().outboxDepth === 0, 'outbox drained');
    const after = a2.stats();
    assert.is(after.lastAckedSequence, after.lastSequence);
    assert.is(rows('gw-001'), stored + (after.lastSequence - before.lastAckedSequence));
    const seqs = fleet.db
      .prepare('SELECT seq FROM telemetry WHERE device_id = ? ORDER BY seq')
      .pluck()
      .all('gw-001') as number[];
    assert.equal(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => i + 1),
      'no gap, no duplicate',
    );
  } finally {
    await a2.close();
  }
});

test.run();
