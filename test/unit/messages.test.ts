import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeDeviceMessage, encode, ProtocolError } from '../../shared/src/index.js';

const t = Date.now();
const telemetry = {
  v: 1,
  id: 'msg-00000001',
  ts: t,
  stream: 'stream-0001',
  samples: [{ seq: 1, ts: t, m: { cpuLoad1: 0.5, temperatureC: 41.5 } }],
};
const status = { v: 1, id: 'msg-00000002', ts: t, state: 'online', agentVersion: '0.1.0' };

function issues(channel: 'telemetry' | 'status', value: unknown): string[] {
  try {
    decodeDeviceMessage(channel, encode(value));
    return [];
  } catch (err) {
    assert.instance(err, ProtocolError);
    const e = err as ProtocolError;
    return e.code === 'PROTO_INVALID_MESSAGE' ? (e.details!.issues as { path: string }[]).map((i) => i.path) : [e.code];
  }
}

test('valid telemetry and status decode', () => {
  assert.equal(issues('telemetry', telemetry), []);
  assert.equal(issues('status', status), []);
  assert.equal(issues('status', { ...status, firmwareVersion: '1.2.3' }), []);
});

test('telemetry schema violations are all reported with paths', () => {
  assert.equal(
    issues('telemetry', { ...telemetry, samples: [{ seq: 0, ts: -1, m: { 'bad key': 1, ok: Infinity } }] }).sort(),
    ['samples[0].m.bad key', 'samples[0].m.ok', 'samples[0].seq', 'samples[0].ts'],
  );
  assert.equal(issues('telemetry', { ...telemetry, id: 'x' }), ['id']);
  assert.equal(issues('telemetry', { ...telemetry, samples: [] }), ['samples']);
  assert.equal(issues('telemetry', { ...telemetry, samples: new Array(501).fill(telemetry.samples[0]) }), ['samples']);
  assert.equal(issues('telemetry', { ...telemetry, surplus: true }), ['surplus']);
  assert.equal(issues('telemetry', { ...telemetry, samples: [{ seq: '1', ts: t, m: {} }] }), ['samples[0].seq']);
  assert.equal(issues('telemetry', [1, 2]), [''], 'a non-map is reported at the root');
});

test('schema version is checked before the schema', () => {
  assert.equal(issues('telemetry', { ...telemetry, v: 2 }), ['PROTO_SCHEMA_VERSION']);
  assert.equal(issues('status', { ...status, v: '1' }), ['PROTO_SCHEMA_VERSION']);
});

test('status fields are constrained', () => {
  assert.equal(issues('status', { ...status, state: 'sleeping', agentVersion: 'x y' }).sort(), [
    'agentVersion',
    'state',
  ]);
});

test('unknown channels have no decoder', () => {
  assert.throws(
    () => decodeDeviceMessage('cmd', encode({})),
    (e: ProtocolError) => e.code === 'PROTO_UNKNOWN_KIND',
  );
});

test.run();
