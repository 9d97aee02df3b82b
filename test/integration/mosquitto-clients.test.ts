// A client nobody here wrote (mosquitto_pub / mosquitto_sub) against the fleet server, with issued device certificates.
import { test as uvu } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deviceTopic, encode, sealMessage } from '../../shared/src/index.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testWithPeers } from '../helpers/peers.js';
import { run } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const test = testWithPeers(['mosquitto_pub', 'mosquitto_sub'], 'apt-get install mosquitto-clients');
let fleet: TestFleet;
let payload: string;

uvu.before(async () => {
  fleet = await createTestFleet(['gw-001', 'gw-002']);
  await fleet.start();
  payload = join(tmpDir(), 'telemetry.cbor');
  // Sealed by gw-001 for the backend, as its agent would (sealing is required by default): mosquitto_pub sends the
  // file's bytes as they are.
  const topic = deviceTopic('gw-001', 'telemetry');
  const message = encode({
    v: 1,
    id: 'mosq-0000001',
    ts: Date.now(),
    stream: 'mosquitto-stream',
    samples: [{ seq: 1, ts: Date.now(), m: { cpuLoad1: 0.25 } }],
  });
  writeFileSync(payload, sealMessage(fleet.sealChannel('gw-001'), topic, message));
});
uvu.after(async () => {
  await fleet.close();
});

function tlsArgs(id: string): string[] {
  const d = fleet.deviceDir(id);
  return [
    '-h',
    '127.0.0.1',
    '-p',
    String(fleet.server.mqttPort),
    '--cafile',
    join(d, 'ca.crt'),
    '--cert',
    join(d, 'device.crt'),
    '--key',
    join(d, 'device.key'),
    '-i',
    id,
    '-V',
    'mqttv311',
  ];
}

const rows = (id: string) =>
  fleet.db.prepare('SELECT count(*) FROM telemetry WHERE device_id = ?').pluck().get(id) as number;

test('mosquitto_pub publishes to its own telemetry topic and the row is stored', async () => {
  const r = await run('mosquitto_pub', [
    ...tlsArgs('gw-001'),
    '-t',
    deviceTopic('gw-001', 'telemetry'),
    '-f',
    payload,
    '-q',
    '1',
    '-d',
  ]);
  assert.is(r.code, 0, r.output);
  assert.match(r.output, /received CONNACK \(0\)/);
  assert.match(r.output, /received PUBACK/);
  assert.is(rows('gw-001'), 1);
});

test('mosquitto_pub cannot publish to another device topic', async () => {
  const r = await run('mosquitto_pub', [
    ...tlsArgs('gw-001'),
    '-t',
    deviceTopic('gw-002', 'telemetry'),
    '-f',
    payload,
    '-q',
    '1',
    '-d',
  ]);
  assert.not.match(r.output, /received PUBACK/);
  assert.is(rows('gw-002'), 0);
  await waitFor(
    () =>
      fleet.db.prepare(`SELECT count(*) FROM audit WHERE event = 'acl.denied' AND device_id = 'gw-001'`).pluck().get(),
    'acl.denied audit',
  );
});

for (const filter of ['#', 'fleet/v1/+/cmd', '$SYS/#', 'fleet/v1/gw-002/cmd', 'fleet/v1/gw-001/#']) {
  test(`mosquitto_sub on ${filter} is refused and receives nothing`, async () => {
    // While it listens, another device publishes telemetry and the backend publishes a command to gw-002.
    const sub = run('mosquitto_sub', [...tlsArgs('gw-001'), '-t', filter, '-d', '-W', '2', '-q', '1']);
    await new Promise((r) => setTimeout(r, 700));
    const other = await fleet.connect('gw-002');
    await other.publishAsync(
      deviceTopic('gw-002', 'telemetry'),
      encode({
        v: 1,
        id: `x-${Date.now()}-abc`,
        ts: Date.now(),
        stream: 'other-stream-1',
        samples: [{ seq: Date.now(), ts: Date.now(), m: { cpuLoad1: 1 } }],
      }),
      { qos: 1 },
    );
    await other.endAsync();
    await fleet.server.publish(deviceTopic('gw-002', 'cmd'), Buffer.from('x'));
    const r = await sub;
    assert.match(r.output, /received CONNACK \(0\)/, r.output);
    assert.match(r.output, /Subscribed \(mid: \d+\): 128/, r.output);
    assert.not.match(r.output, /received PUBLISH/, r.output);
  });
}

test('mosquitto_sub on its own command topic is granted', async () => {
  const r = await run('mosquitto_sub', [
    ...tlsArgs('gw-001'),
    '-t',
    deviceTopic('gw-001', 'cmd'),
    '-d',
    '-W',
    '1',
    '-q',
    '1',
  ]);
  assert.match(r.output, /Subscribed \(mid: \d+\): 1/, r.output);
});

uvu.run();
