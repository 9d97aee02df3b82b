import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deviceTopic, isValidDeviceId, parseTopic, ProtocolError } from '../../shared/src/index.js';

test('device ids follow ^[a-z0-9][a-z0-9-]{2,63}$', () => {
  for (const ok of ['abc', 'gw-001', '0ab', 'a'.repeat(64)]) assert.ok(isValidDeviceId(ok), ok);
  for (const bad of ['ab', '-ab', 'Abc', 'a_b', 'a/b', 'a+b', 'a#b', 'a'.repeat(65), '', 'gw 1', 'ünï', 'a\u0000b']) {
    assert.not.ok(isValidDeviceId(bad), bad);
  }
});

test('builds and parses every channel', () => {
  for (const ch of ['telemetry', 'exposure', 'status', 'cmd', 'cmd/ack', 'update', 'update/status'] as const) {
    const t = deviceTopic('gw-1x', ch);
    assert.is(t, `fleet/v1/gw-1x/${ch}`);
    assert.equal(parseTopic(t), { deviceId: 'gw-1x', channel: ch });
  }
});

test('rejects bad topics with typed errors', () => {
  const cases: [string, string][] = [
    ['fleet/v2/gw-1/telemetry', 'TOPIC_INVALID'],
    ['fleet/v1/gw-1', 'TOPIC_INVALID'],
    ['fleet/v1/gw-1/telemetry/x', 'TOPIC_INVALID'],
    ['fleet/v1/gw-1/unknown', 'TOPIC_INVALID'],
    ['fleet/v1/GW-1/telemetry', 'DEVICE_ID_INVALID'],
    ['fleet/v1/+/telemetry', 'DEVICE_ID_INVALID'],
    ['fleet/v1/#', 'TOPIC_INVALID'],
    ['$SYS/broker', 'TOPIC_INVALID'],
  ];
  for (const [topic, code] of cases) {
    try {
      parseTopic(topic);
      assert.unreachable(topic);
    } catch (err) {
      assert.instance(err, ProtocolError);
      assert.is((err as ProtocolError).code, code, topic);
    }
  }
  assert.throws(() => deviceTopic('Bad', 'telemetry'), /invalid device id/);
});

test.run();
