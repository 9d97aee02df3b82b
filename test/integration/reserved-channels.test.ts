// The firmware-update channels (`update`, `update/status`) are reserved until updates exist: a device's publish
// there is refused and audited like any ACL denial — never acknowledged and then dropped — and no device subscribes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type mqtt from 'mqtt';
import { deviceTopic, encode } from '../../shared/src/index.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet(['gw-001']);
  await fleet.start({ auditWindowMs: 0 });
});
test.after(async () => {
  await fleet.close();
});

const connect = () => fleet.connect('gw-001');

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

test('a device publishing to its own update/status gets no PUBACK: connection closed, denial audited', async () => {
  const before = denials().length;
  const counted = fleet.server.metrics.denials.get({ kind: 'acl', reason: 'channel-not-allowed' });
  const c = await connect();
  const outcome = await new Promise<'closed' | 'acknowledged'>((resolve) => {
    c.once('close', () => resolve('closed'));
    c.publish(
      deviceTopic('gw-001', 'update/status'),
      encode({ v: 1, id: 'update-status-1', ts: Date.now(), state: 'downloading' }),
      { qos: 1 },
      (err) => !err && resolve('acknowledged'),
    );
  });
  c.end(true);
  assert.is(outcome, 'closed', 'update/status was acknowledged although nothing handles it: acked and dropped');
  const rows = await waitFor(() => (denials().length > before ? denials().slice(before) : undefined), 'audit');
  assert.equal(rows, [
    {
      deviceId: 'gw-001',
      action: 'publish',
      topic: 'fleet/v1/gw-001/update/status',
      reason: 'channel-not-allowed',
    },
  ]);
  assert.is(fleet.server.metrics.denials.get({ kind: 'acl', reason: 'channel-not-allowed' }), counted + 1);
});

test('a device subscribing to its own update topic is refused (SUBACK 0x80) and audited', async () => {
  const before = denials().length;
  const c = await connect();
  assert.is(await subackCode(c, deviceTopic('gw-001', 'update')), 0x80);
  const rows = await waitFor(() => (denials().length > before ? denials().slice(before) : undefined), 'audit');
  assert.equal(rows, [
    { deviceId: 'gw-001', action: 'subscribe', topic: 'fleet/v1/gw-001/update', reason: 'channel-not-allowed' },
  ]);
  // The device is still served on the channels that are handled.
  await c.subscribeAsync(deviceTopic('gw-001', 'cmd'), { qos: 1 });
  await c.publishAsync(
    deviceTopic('gw-001', 'status'),
    encode({ v: 1, id: 'status-after-1', ts: Date.now(), state: 'online', agentVersion: '1.0.0' }),
    { qos: 1, retain: true },
  );
  await c.endAsync();
});

test.run();
