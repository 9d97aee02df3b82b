// Topics aedes refuses before the ACL hooks run (a PUBLISH to a wildcard or empty topic, a malformed SUBSCRIBE
// filter): the connection is closed, and the refusal is audited as acl.denied, logged and counted like every
// other invalid topic.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type mqtt from 'mqtt';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet(['gw-001']);
  await fleet.start({ auditWindowMs: 0 });
});
test.after(async () => {
  await fleet.close();
});

const connectDevice = () => fleet.connect('gw-001');

/** An MQTT string: two length bytes, then UTF-8 [MQTT-1.5.3]. */
const str = (s: string) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
/** A packet with a remaining length under 128 bytes. */
const packet = (header: number, body: Buffer) => Buffer.concat([Buffer.from([header, body.length]), body]);
// Written on the client's own TLS stream: MQTT.js checks SUBSCRIBE filters and empty topics itself.
const rawPublish = (topic: string) => packet(0x30, Buffer.concat([str(topic), Buffer.from('x')]));
const rawSubscribe = (filter: string) =>
  packet(0x82, Buffer.concat([Buffer.from([0, 1]), str(filter), Buffer.from([1])]));

const cases: { topic: string; action: 'publish' | 'subscribe'; reason: string; send(c: mqtt.MqttClient): void }[] = [
  {
    topic: 'fleet/v1/gw-001/+',
    action: 'publish',
    reason: 'wildcard',
    send: (c) => c.publish('fleet/v1/gw-001/+', 'x'),
  },
  {
    topic: 'fleet/v1/gw-001/#',
    action: 'publish',
    reason: 'wildcard',
    send: (c) => c.publish('fleet/v1/gw-001/#', 'x', { qos: 1 }),
  },
  { topic: '#', action: 'publish', reason: 'wildcard', send: (c) => c.publish('#', 'x') },
  { topic: '', action: 'publish', reason: 'invalid-topic', send: (c) => c.stream.write(rawPublish('')) },
  { topic: '', action: 'subscribe', reason: 'invalid-topic', send: (c) => c.stream.write(rawSubscribe('')) },
  {
    topic: 'fleet/v1/#/cmd',
    action: 'subscribe',
    reason: 'invalid-topic',
    send: (c) => c.stream.write(rawSubscribe('fleet/v1/#/cmd')),
  },
  {
    topic: 'fleet/v1/gw-001/cmd+',
    action: 'subscribe',
    reason: 'invalid-topic',
    send: (c) => c.stream.write(rawSubscribe('fleet/v1/gw-001/cmd+')),
  },
];

const denials = () =>
  fleet.db.prepare(`SELECT device_id, address, detail FROM audit WHERE event = 'acl.denied' ORDER BY id`).all() as {
    device_id: string;
    address: string;
    detail: string;
  }[];

for (const c of cases) {
  test(`${c.action} ${JSON.stringify(c.topic)}: connection closed, acl.denied audited and counted`, async () => {
    const before = denials().length;
    const metricBefore = fleet.server.metrics.denials.get({ kind: 'acl', reason: c.reason });
    const client = await connectDevice();
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    c.send(client);
    await closed;
    client.end(true);
    const rows = await waitFor(() => (denials().length > before ? denials().slice(before) : undefined), 'audit');
    assert.is(rows.length, 1);
    assert.is(rows[0]!.device_id, 'gw-001');
    assert.is(rows[0]!.address, '127.0.0.1');
    const detail = JSON.parse(rows[0]!.detail);
    assert.is(detail.action, c.action);
    assert.is(detail.reason, c.reason);
    assert.type(detail.error, 'string');
    assert.is(fleet.server.metrics.denials.get({ kind: 'acl', reason: c.reason }), metricBefore + 1);
  });
}

test('the device is served normally afterwards', async () => {
  const client = await connectDevice();
  await client.subscribeAsync('fleet/v1/gw-001/cmd', { qos: 1 });
  await client.endAsync();
});

test.run();
