// Hostile payloads from an authenticated device: each is refused with its typed error, nothing is stored,
// and the broker keeps serving.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type mqtt from 'mqtt';
import { deviceTopic, encode } from '../../shared/src/index.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;
let client: mqtt.MqttClient;

test.before(async () => {
  fleet = await createTestFleet(['gw-001']);
  await fleet.start();
  client = await fleet.connect('gw-001');
});
test.after(async () => {
  client.end(true);
  await fleet.close();
});

const now = Date.now();
const good = (seq: number, id = `good-msg-${seq}`) => ({
  v: 1,
  id,
  ts: now,
  stream: 'stream-malformed',
  samples: [{ seq, ts: now, m: { cpuLoad1: 0.1 } }],
});
const telemetry = deviceTopic('gw-001', 'telemetry');
const rows = () =>
  fleet.db.prepare(`SELECT count(*) FROM telemetry WHERE device_id = 'gw-001'`).pluck().get() as number;
const lastReject = () =>
  fleet.db.prepare(`SELECT code, message FROM ingest_rejects ORDER BY id DESC LIMIT 1`).get() as
    | { code: string; message: string }
    | undefined;

let deep: unknown = 1;
for (let i = 0; i < 40; i++) deep = [deep];
const full = encode(good(99));

const cases: [string, string, Buffer][] = [
  ['truncated CBOR', 'PROTO_BAD_CBOR', full.subarray(0, full.length - 3)],
  ['not CBOR at all', 'PROTO_BAD_CBOR', Buffer.from('{"v":1}')],
  ['an oversized payload', 'PROTO_TOO_LARGE', encode({ ...good(98), pad: 'x'.repeat(100_000) })],
  ['deep nesting', 'PROTO_TOO_DEEP', encode({ ...good(97), samples: deep })],
  ['a wrong schema version', 'PROTO_SCHEMA_VERSION', encode({ ...good(96), v: 2 })],
  [
    'a schema violation (NaN metric, extra field)',
    'PROTO_INVALID_MESSAGE',
    encode({ ...good(95), extra: 1, samples: [{ seq: 95, ts: now, m: { cpuLoad1: Number.NaN } }] }),
  ],
  ['an unexpected tag', 'PROTO_UNEXPECTED_TAG', Buffer.concat([Buffer.from([0xc1]), encode(1)])],
];

for (const [name, code, payload] of cases) {
  test(`${name} is rejected with ${code}, nothing stored, broker alive`, async () => {
    await client.publishAsync(telemetry, payload, { qos: 1 });
    assert.is(lastReject()?.code, code, lastReject()?.message);
    assert.is(rows(), 0);
    assert.ok(client.connected, 'the device stays connected');
  });
}

test('rejections are counted per device', () => {
  assert.is(fleet.server.registry.get('gw-001')!.rejectedCount, cases.length);
});

test('an invalid device id in a topic is denied as DEVICE_ID_INVALID and the broker stays up', async () => {
  const closed = new Promise<void>((r) => client.once('close', () => r()));
  client.publish('fleet/v1/GW_001/telemetry', full, { qos: 1 });
  await closed;
  const audit = await waitFor(
    () =>
      fleet.db.prepare(`SELECT detail FROM audit WHERE event = 'acl.denied' ORDER BY id DESC LIMIT 1`).pluck().get() as
        | string
        | undefined,
    'audit',
  );
  assert.equal(JSON.parse(audit).code, 'DEVICE_ID_INVALID');
  client.end(true);
  // The broker serves the same device again at once, and a good message is stored.
  client = await fleet.connect('gw-001');
  await client.publishAsync(telemetry, encode(good(1)), { qos: 1 });
  assert.is(rows(), 1);
});

test.run();
