// The firmware-update channels: a device subscribes to its own `update` topic and publishes its own `update/status`
// (stored once per message id); another device's update topic or update/status is refused and audited as
// acl.denied like any other denial — never acknowledged and then dropped.
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type mqtt from 'mqtt';
import { deviceTopic, encode } from '../../shared/src/index.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { insertRelease } from '../helpers/rollout-devices.js';

let fleet: TestFleet;
let releaseId: string;

test.before(async () => {
  fleet = await createTestFleet(['gw-001', 'gw-002']);
  await fleet.start({ auditWindowMs: 0 });
  releaseId = insertRelease(fleet.db);
});
test.after(async () => {
  await fleet.close();
});

/** The return code of a one-filter SUBACK: the QoS granted, or 0x80 (MQTT.js turns a refusal into an error). */
async function subackCode(client: mqtt.MqttClient, filter: string): Promise<number> {
  try {
    return (await client.subscribeAsync(filter, { qos: 1 }))[0]!.qos;
  } catch (err) {
    const granted = (err as { packet?: { granted?: unknown[] } }).packet?.granted;
    if (granted?.[0] === 0x80) return 0x80;
    throw err;
  }
}

const denials = () =>
  fleet.db
    .prepare(`SELECT device_id, detail FROM audit WHERE event = 'acl.denied' ORDER BY id`)
    .all()
    .map((r) => {
      const row = r as { device_id: string; detail: string };
      return { deviceId: row.device_id, ...(JSON.parse(row.detail) as Record<string, unknown>) };
    });

const status = (id: string) =>
  encode({ v: 1, id, ts: Date.now(), rolloutId: 1, releaseId, state: 'Downloading', done: 10, total: 100 });

const stored = (deviceId: string) =>
  fleet.db
    .prepare('SELECT message_id, state, done, total FROM update_status WHERE device_id = ? ORDER BY id')
    .all(deviceId);

test('a device subscribes to its own update topic and gets what the backend publishes there', async () => {
  const c = await fleet.connect('gw-001');
  assert.is(await subackCode(c, deviceTopic('gw-001', 'update')), 1);
  const got = new Promise<Buffer>((resolve) => c.once('message', (_t, p) => resolve(p)));
  await fleet.server.publish(deviceTopic('gw-001', 'update'), Buffer.from('offer'));
  assert.is((await got).toString(), 'offer');
  await c.endAsync();
});

test('its own update/status is acknowledged and stored once per message id', async () => {
  const c = await fleet.connect('gw-001');
  const id = randomBytes(9).toString('base64url');
  await c.publishAsync(deviceTopic('gw-001', 'update/status'), status(id), { qos: 1 });
  await c.publishAsync(deviceTopic('gw-001', 'update/status'), status(id), { qos: 1 });
  await waitFor(() => stored('gw-001').length > 0, 'the report stored');
  // A second report after the duplicate shows the duplicate was processed (and dropped) before it.
  const id2 = randomBytes(9).toString('base64url');
  await c.publishAsync(deviceTopic('gw-001', 'update/status'), status(id2), { qos: 1 });
  await waitFor(() => stored('gw-001').length === 2, 'the second report stored');
  assert.equal(stored('gw-001'), [
    { message_id: id, state: 'Downloading', done: 10, total: 100 },
    { message_id: id2, state: 'Downloading', done: 10, total: 100 },
  ]);
  await c.endAsync();
});

test("subscribing to another device's update topic is refused (SUBACK 0x80) and audited", async () => {
  const before = denials().length;
  const c = await fleet.connect('gw-001');
  assert.is(await subackCode(c, deviceTopic('gw-002', 'update')), 0x80);
  const rows = await waitFor(() => (denials().length > before ? denials().slice(before) : undefined), 'audit');
  assert.equal(rows, [
    { deviceId: 'gw-001', action: 'subscribe', topic: 'fleet/v1/gw-002/update', reason: 'foreign-topic' },
  ]);
  await c.endAsync();
});

test("publishing to another device's update/status gets no PUBACK: connection closed, denial audited", async () => {
  const before = denials().length;
  const counted = fleet.server.metrics.denials.get({ kind: 'acl', reason: 'foreign-topic' });
  const c = await fleet.connect('gw-001');
  const outcome = await new Promise<'closed' | 'acknowledged'>((resolve) => {
    c.once('close', () => resolve('closed'));
    c.publish(
      deviceTopic('gw-002', 'update/status'),
      status(randomBytes(9).toString('base64url')),
      { qos: 1 },
      (err) => !err && resolve('acknowledged'),
    );
  });
  c.end(true);
  assert.is(outcome, 'closed');
  const rows = await waitFor(() => (denials().length > before ? denials().slice(before) : undefined), 'audit');
  assert.equal(rows, [
    { deviceId: 'gw-001', action: 'publish', topic: 'fleet/v1/gw-002/update/status', reason: 'foreign-topic' },
  ]);
  assert.is(fleet.server.metrics.denials.get({ kind: 'acl', reason: 'foreign-topic' }), counted + 1);
  assert.equal(stored('gw-002'), [], 'nothing stored for the other device');
});

test('a device may not publish on its own update topic (backend to device only)', async () => {
  const before = denials().length;
  const c = await fleet.connect('gw-001');
  const outcome = await new Promise<'closed' | 'acknowledged'>((resolve) => {
    c.once('close', () => resolve('closed'));
    c.publish(deviceTopic('gw-001', 'update'), Buffer.from('x'), { qos: 1 }, (err) => !err && resolve('acknowledged'));
  });
  c.end(true);
  assert.is(outcome, 'closed');
  const rows = await waitFor(() => (denials().length > before ? denials().slice(before) : undefined), 'audit');
  assert.equal(rows, [
    { deviceId: 'gw-001', action: 'publish', topic: 'fleet/v1/gw-001/update', reason: 'channel-not-allowed' },
  ]);
});

test.run();
