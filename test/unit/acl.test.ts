// The ACL as an exhaustive matrix: every topic pattern × publish/subscribe × own/other device × device/backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authorizePublish, authorizeSubscribe, type Identity } from '../../broker/src/mqtt/acl.js';
import { CHANNELS, DEVICE_PUBLISH_CHANNELS, DEVICE_SUBSCRIBE_CHANNELS } from '../../shared/src/index.js';

const me: Identity = { kind: 'device', deviceId: 'gw-001' };
const backend: Identity = { kind: 'backend' };
const own = (ch: string) => `fleet/v1/gw-001/${ch}`;
const other = (ch: string) => `fleet/v1/gw-002/${ch}`;

type Row = [who: 'device' | 'backend', action: 'pub' | 'pub-retain' | 'sub', topic: string, expect: 'allow' | string];

const rows: Row[] = [];
for (const ch of CHANNELS) {
  const devicePub = (DEVICE_PUBLISH_CHANNELS as readonly string[]).includes(ch);
  const deviceSub = (DEVICE_SUBSCRIBE_CHANNELS as readonly string[]).includes(ch);
  // device, own subtree
  rows.push(['device', 'pub', own(ch), devicePub ? 'allow' : 'channel-not-allowed']);
  rows.push([
    'device',
    'pub-retain',
    own(ch),
    !devicePub ? 'channel-not-allowed' : ch === 'status' ? 'allow' : 'retain-not-allowed',
  ]);
  rows.push(['device', 'sub', own(ch), deviceSub ? 'allow' : 'channel-not-allowed']);
  // device, another device's subtree
  rows.push(['device', 'pub', other(ch), 'foreign-topic']);
  rows.push(['device', 'pub-retain', other(ch), 'foreign-topic']);
  rows.push(['device', 'sub', other(ch), 'foreign-topic']);
  // backend, any device
  rows.push(['backend', 'pub', own(ch), deviceSub ? 'allow' : 'channel-not-allowed']);
  rows.push(['backend', 'pub', other(ch), deviceSub ? 'allow' : 'channel-not-allowed']);
  rows.push(['backend', 'pub-retain', own(ch), deviceSub ? 'retain-not-allowed' : 'channel-not-allowed']);
  rows.push(['backend', 'sub', own(ch), 'allow']);
  rows.push(['backend', 'sub', other(ch), 'allow']);
}
// Wildcards, $SYS and junk
const wild = [
  '#',
  '+',
  '+/#',
  'fleet/#',
  'fleet/v1/#',
  'fleet/v1/+/telemetry',
  'fleet/v1/+/cmd',
  'fleet/v1/gw-001/#',
  'fleet/v1/gw-001/+',
  'fleet/v1/gw-002/#',
  'fleet/v1/+/+',
];
for (const t of wild) {
  rows.push(['device', 'sub', t, 'wildcard']);
  rows.push(['device', 'pub', t, 'wildcard']);
  rows.push(['backend', 'pub', t, 'wildcard']);
}
for (const t of ['$SYS/#', '$SYS/broker/clients', '$share/g/fleet/v1/gw-001/cmd', '$SYS']) {
  rows.push(['device', 'sub', t, 'sys-topic']);
  rows.push(['device', 'pub', t, 'sys-topic']);
  rows.push(['backend', 'pub', t, 'sys-topic']);
  rows.push(['backend', 'sub', t, 'sys-topic']);
}
rows.push(
  ['backend', 'sub', 'fleet/v1/#', 'allow'],
  ['backend', 'sub', 'fleet/v1/+/telemetry', 'allow'],
  ['backend', 'sub', '#', 'invalid-topic'],
  ['backend', 'sub', 'other/topic', 'invalid-topic'],
);
for (const t of [
  '',
  'fleet',
  'fleet/v1',
  'fleet/v1/gw-001',
  'fleet/v1/gw-001/',
  'fleet/v1/GW-001/telemetry',
  'fleet/v1/gw-001/telemetry/extra',
  'fleet/v2/gw-001/telemetry',
  'other/topic',
  '/fleet/v1/gw-001/telemetry',
  'fleet/v1/gw-001/cmd/ack/x',
]) {
  rows.push(['device', 'pub', t, 'invalid-topic']);
  rows.push(['device', 'sub', t, 'invalid-topic']);
}

test(`ACL matrix (${rows.length} rows)`, () => {
  const failures: string[] = [];
  for (const [who, action, topic, expect] of rows) {
    const id = who === 'device' ? me : backend;
    const d = action === 'sub' ? authorizeSubscribe(id, topic) : authorizePublish(id, topic, action === 'pub-retain');
    const got = d.allow ? 'allow' : d.reason;
    if (got !== expect) failures.push(`${who} ${action} ${JSON.stringify(topic)}: expected ${expect}, got ${got}`);
    // An allowed publish names the channel it goes to (ingest stores it under that channel, parsed once).
    if (d.allow && action !== 'sub' && (d as { channel?: string }).channel !== topic.split('/').slice(3).join('/'))
      failures.push(`${who} ${action} ${JSON.stringify(topic)}: allowed on ${(d as { channel?: string }).channel}`);
  }
  assert.equal(failures, []);
});

test('no device rule ever grants another device id', () => {
  for (const ch of CHANNELS) {
    for (const retain of [false, true]) assert.not.ok(authorizePublish(me, other(ch), retain).allow);
    assert.not.ok(authorizeSubscribe(me, other(ch)).allow);
  }
});

test.run();
