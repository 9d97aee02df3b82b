// Only MQTT 3.1.1 is served: an MQTT 3.1 (or 5) CONNECT gets CONNACK 0x01 (unacceptable protocol level) and an
// auth.denied audit row, even with a valid device certificate; 3.1.1 from the same clients is accepted.
import { test as uvu } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { testWithPeers } from '../helpers/peers.js';
import { run } from '../helpers/run.js';

const withMosquitto = testWithPeers(['mosquitto_pub'], 'apt-get install mosquitto-clients');
let fleet: TestFleet;

uvu.before(async () => {
  fleet = await createTestFleet(['gw-001']);
  await fleet.start({ auditWindowMs: 0 });
});
uvu.after(async () => {
  await fleet.close();
});

const refusals = () =>
  fleet.db
    .prepare(
      `SELECT device_id, json_extract(detail, '$.protocolVersion') AS level FROM audit
       WHERE event = 'auth.denied' AND json_extract(detail, '$.reason') = 'protocol-version' ORDER BY id`,
    )
    .all() as { device_id: string; level: number }[];

function mosquittoPub(version: 'mqttv31' | 'mqttv311') {
  const d = fleet.deviceDir('gw-001');
  return run(
    'mosquitto_pub',
    [
      ...['-h', '127.0.0.1', '-p', String(fleet.server.mqttPort), '-i', 'gw-001', '-V', version, '-d'],
      ...['--cafile', join(d, 'ca.crt'), '--cert', join(d, 'device.crt'), '--key', join(d, 'device.key')],
      ...['-t', 'fleet/v1/gw-001/status', '-m', 'x', '-q', '1'],
    ],
    { timeoutMs: 10_000 },
  );
}

withMosquitto('mosquitto_pub -V mqttv31 gets CONNACK 1 and is audited', async () => {
  const before = refusals().length;
  const r = await mosquittoPub('mqttv31');
  assert.match(r.output, /received CONNACK \(1\)/, r.output);
  assert.match(r.output, /unacceptable protocol version/i, r.output);
  assert.not.match(r.output, /received PUBACK/, r.output);
  await waitFor(() => refusals().length > before, 'auth.denied audit');
  assert.equal(refusals().at(-1), { device_id: 'gw-001', level: 3 });
});

withMosquitto('mosquitto_pub -V mqttv311 is still admitted', async () => {
  const r = await mosquittoPub('mqttv311');
  assert.match(r.output, /received CONNACK \(0\)/, r.output);
});

for (const protocolVersion of [3, 5] as const) {
  uvu(`MQTT.js with protocolVersion ${protocolVersion} is refused with CONNACK 1 and audited`, async () => {
    const before = refusals().length;
    const metricBefore = fleet.server.metrics.denials.get({ kind: 'auth', reason: 'protocol-version' });
    const err = await mqtt
      .connectAsync(fleet.url(), {
        clientId: 'gw-001',
        ...fleet.credentials('gw-001'),
        protocolVersion,
        reconnectPeriod: 0,
        connectTimeout: 5000,
      })
      .then(
        (c) => (c.end(true), undefined),
        (e: Error & { code?: number }) => e,
      );
    assert.ok(err, 'connected');
    assert.is(err!.code, 1, err!.message);
    await waitFor(() => refusals().length > before, 'auth.denied audit');
    assert.equal(refusals().at(-1), { device_id: 'gw-001', level: protocolVersion });
    assert.is(fleet.server.metrics.denials.get({ kind: 'auth', reason: 'protocol-version' }), metricBefore + 1);
  });
}

uvu('MQTT 3.1.1 from MQTT.js is admitted', async () => {
  const c = await fleet.connect('gw-001');
  await c.endAsync();
});

uvu.run();
