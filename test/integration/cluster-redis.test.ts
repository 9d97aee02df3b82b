// Two fleet server nodes sharing one real redis-server: routing across nodes, a persistent session's QoS 1 queue
// delivered on the other node, revocation and takeover reaching the other node, Redis restarting, /readyz.
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { fleetIdOf } from '../../broker/src/api/fleet-id.js';
import { fleetNamespace } from '../../broker/src/cluster/index.js';
import * as assert from 'uvu/assert';
import { createRegistry } from '../../broker/src/db/registry.js';
import { openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { createFleetServer, type FleetServer } from '../../broker/src/server.js';
import {
  createTestFleet,
  sealPublishes,
  type TestFleet,
  startTestServer,
  testLogger,
  waitFor,
} from '../helpers/fleet.js';
import { testWithPeers } from '../helpers/peers.js';
import { caOf, rawRequest } from '../helpers/raw-https.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { tmpDir } from '../helpers/tmp.js';
import { freePort } from '../helpers/mosquitto.js';
import { FleetError } from '../../broker/src/errors.js';
import { createProof } from '../../broker/src/api/proof.js';
import { addOperator, apiClientFor, type TestOperator } from '../helpers/operators.js';

const test = testWithPeers(['redis-server'], 'apt-get install -y redis-server');
const DEVICES = ['gw-route', 'gw-queue', 'gw-revoke', 'gw-takeover', 'gw-hostile', 'gw-after', 'gw-abandon'];

let redis: RedisServer;
let fleet: TestFleet;
let a: FleetServer;
let b: FleetServer;
let dataB: string;
let dataC: string;
const clients: MqttClient[] = [];
let operator: TestOperator;

const urlOf = (s: FleetServer) => `mqtts://127.0.0.1:${s.mqttPort}`;
const connect = async (id: string, node: FleetServer, more: Record<string, unknown> = {}) => {
  const c = await fleet.connect(id, { url: urlOf(node), ...more });
  clients.push(c);
  return c;
};
const closed = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()));
const nextMessage = (c: MqttClient) =>
  new Promise<{ topic: string; payload: Buffer }>((resolve) =>
    c.once('message', (topic, payload) => resolve({ topic, payload })),
  );
const readyz = (node: FleetServer, dataDir: string) => rawRequest(node.httpPort, caOf(dataDir), { path: '/readyz' });

test.before(async () => {
  redis = await startRedis({ appendOnly: true });
  fleet = await createTestFleet(DEVICES);
  operator = await addOperator(fleet.db, 'olga', 'admin');
  // Both nodes know the same CA, devices and operator: node B gets a copy of the enrolled folder.
  fleet.db.close();
  dataB = join(tmpDir('edgeward-node-b-'), 'data');
  cpSync(fleet.dataDir, dataB, { recursive: true });
  dataC = join(tmpDir('edgeward-node-c-'), 'data');
  cpSync(fleet.dataDir, dataC, { recursive: true });
  a = await fleet.start({ cluster: { redisUrl: redis.url, nodeId: 'node-a' } });
  b = await startTestServer({ dataDir: dataB, cluster: { redisUrl: redis.url, nodeId: 'node-b' } });
});

test.after(async () => {
  for (const c of clients) c.end(true);
  await b?.close();
  await fleet?.close();
  await redis?.stop();
});

test('a message published through node B reaches the device connected to node A', async () => {
  const device = await connect('gw-route', a);
  await device.subscribeAsync('fleet/v1/gw-route/cmd', { qos: 1 });
  const got = nextMessage(device);
  await b.publish('fleet/v1/gw-route/cmd', Buffer.from('from node b'));
  const m = await got;
  assert.is(m.topic, 'fleet/v1/gw-route/cmd');
  assert.is(m.payload.toString(), 'from node b');
});

test('a QoS 1 message queued while a persistent session is offline is delivered on the other node', async () => {
  const first = await connect('gw-queue', a, { clean: false });
  await first.subscribeAsync('fleet/v1/gw-queue/cmd', { qos: 1 });
  await first.endAsync();
  await waitFor(() => !a.sessions.get('gw-queue'), 'node A to forget the session');
  await b.publish('fleet/v1/gw-queue/cmd', Buffer.from('queued'));
  // The message waits in Redis; the device comes back on node B, without subscribing again.
  // Listening before the CONNACK: the queued message follows it at once.
  const again = mqtt.connect(urlOf(b), {
    clientId: 'gw-queue',
    ...fleet.credentials('gw-queue'),
    protocolVersion: 4,
    reconnectPeriod: 0,
    clean: false,
  });
  clients.push(again);
  sealPublishes(again, 'gw-queue', fleet.sealChannel('gw-queue'));
  const m = await nextMessage(again);
  assert.is(m.payload.toString(), 'queued');
});

test('revoking a device on node B drops its session on node A', async () => {
  const device = await connect('gw-revoke', a);
  const dropped = closed(device);
  // As `fleet device revoke --data` does on node B's host: another process writes B's database.
  const db = openFleetDb(dataB);
  const started = Date.now();
  createRegistry(db).revoke('gw-revoke', Date.now());
  db.close();
  await dropped;
  console.log(`  revocation on node B dropped the session on node A after ${Date.now() - started} ms`);
  assert.ok(!a.sessions.get('gw-revoke'));
});

test('the same device connecting to node B closes its session on node A', async () => {
  const old = await connect('gw-takeover', a);
  const dropped = closed(old);
  await connect('gw-takeover', b);
  await dropped;
  await waitFor(() => !a.sessions.get('gw-takeover'), 'node A to drop the old session');
  assert.ok(b.sessions.get('gw-takeover'));
});

test('a connection that closes while its session is restored from Redis leaves no session behind', async () => {
  // After authentication aedes restores the session from Redis, then registers the client. A client that closes in
  // between is registered anyway and never unregistered (no clientDisconnect): its device stayed online here, and
  // its next connection was audited as a takeover (a possibly cloned credential).
  const takeovers = () =>
    Number(/^edgeward_session_takeovers_total(?:\{[^}]*\})? (\d+)$/m.exec(a.metrics.registry.render())?.[1] ?? 0);
  const takeoversBefore = takeovers();
  redis.pause();
  let device: MqttClient | undefined;
  try {
    device = mqtt.connect(urlOf(a), {
      clientId: 'gw-abandon',
      ...fleet.credentials('gw-abandon'),
      protocolVersion: 4,
      clean: false,
      reconnectPeriod: 0,
    });
    device.on('error', () => {});
    await waitFor(() => a.sessions.get('gw-abandon'), 'node A to authenticate the device');
    device.end(true);
    await waitFor(() => !a.sessions.get('gw-abandon'), 'node A to end the session of the closed connection');
  } finally {
    redis.resume();
  }
  // Its next connection finds no session to take over, and leaves none when it ends.
  const again = await connect('gw-abandon', a);
  assert.ok(a.sessions.get('gw-abandon'));
  await again.endAsync();
  await waitFor(() => !a.sessions.get('gw-abandon'), 'node A to end the second session');
  assert.is(takeovers(), takeoversBefore, 'no takeover counted');
});

test('hostile bus messages are refused and counted; an event from a node for another fleet is not heard', async () => {
  const raw = new Redis(redis.url);
  const channel = `${fleetNamespace(fleetIdOf(caOf(fleet.dataDir)))}bus`;
  const refused = (reason: string) =>
    Number(
      new RegExp(`^edgeward_cluster_bus_refused_total\\{node="node-a",reason="${reason}"\\} (\\d+)$`, 'm').exec(
        a.metrics.registry.render(),
      )?.[1] ?? 0,
    );
  const victim = await connect('gw-hostile', a);
  const messages = [
    ['too-large', JSON.stringify({ kind: 'device.revoked', node: 'x', deviceId: 'gw-hostile', pad: 'x'.repeat(5000) })],
    ['not-json', '{"kind":'],
    ['unknown-kind', JSON.stringify({ kind: 'fleet.delete', node: 'x' })],
    ['invalid', JSON.stringify({ kind: 'device.revoked', node: 'x', deviceId: '../GW' })],
    ['invalid', JSON.stringify({ kind: 'session.takeover', node: 'x', deviceId: 'gw-hostile', extra: 1 })],
  ] as const;
  for (const [, m] of messages) await raw.publish(channel, m);
  // Another fleet's channel on the same Redis: node A does not listen there.
  await raw.publish(
    'edgeward:0000:bus',
    JSON.stringify({ kind: 'session.takeover', node: 'x', deviceId: 'gw-hostile' }),
  );
  await waitFor(() => refused('invalid') === 2, 'the invalid messages counted');
  for (const reason of ['too-large', 'not-json', 'unknown-kind']) assert.is(refused(reason), 1, reason);
  await raw.quit();
  assert.ok(a.sessions.get('gw-hostile'), 'no session was dropped');
  assert.ok(victim.connected);
});

test('a proof of possession spent on node A is a replay on node B (spent proofs are shared in Redis)', async () => {
  const assertion = await createProof({
    privateKeyPem: operator.credential,
    kid: operator.kid,
    audience: fleetIdOf(readFileSync(join(fleet.dataDir, 'pki', 'ca.crt'))),
  });
  const exchange = async (node: FleetServer, dataDir: string) => {
    const api = apiClientFor(dataDir, node.httpPort, { token: 'none' });
    try {
      const res = await api.exchange('POST', '/api/v1/auth/token', { assertion });
      return { status: res.status, reason: (res.body as { reason?: string }).reason };
    } finally {
      api.close();
    }
  };
  assert.is((await exchange(a, fleet.dataDir)).status, 201);
  assert.equal(await exchange(b, dataB), { status: 401, reason: 'replayed' });
  assert.equal(await exchange(a, fleet.dataDir), { status: 401, reason: 'replayed' });
});

test('metrics carry the node label', async () => {
  const text = a.metrics.registry.render();
  assert.match(text, /^edgeward_connected_devices\{node="node-a"\} \d+$/m);
  assert.match(text, /^edgeward_redis_up\{node="node-a"\} 1$/m);
  assert.match(b.metrics.registry.render(), /^edgeward_cluster_events_total\{node="node-b",kind="session.takeover"/m);
});

test('a node that cannot reach Redis does not start: FLEET_REDIS_UNREACHABLE, its folder free again', async () => {
  const nowhere = `redis://127.0.0.1:${await freePort()}`;
  const start = () =>
    createFleetServer({
      dataDir: dataC,
      host: '127.0.0.1',
      mqttPort: 0,
      httpPort: 0,
      downloadPort: 0,
      log: testLogger(),
      cluster: { redisUrl: nowhere, nodeId: 'node-c', connectTimeoutMs: 1000 },
    });
  for (let i = 0; i < 2; i++) {
    const err = await start().then(
      () => undefined,
      (e: unknown) => e as FleetError,
    );
    assert.instance(err, FleetError);
    assert.is(err!.code, 'FLEET_REDIS_UNREACHABLE');
  }
});

test('/readyz is 503 naming redis while Redis is down; nodes reconnect and route again after', async () => {
  const ready = await readyz(a, fleet.dataDir);
  assert.is(ready.status, 200);
  assert.equal(ready.json, { status: 'ready', notReady: [] });
  await redis.stop();
  const down = await waitFor(async () => {
    const r = await readyz(a, fleet.dataDir);
    return r.status === 503 ? r : undefined;
  }, 'node A to report not ready');
  assert.equal(down.json, { status: 'not-ready', notReady: ['redis'] });
  // No node can tell a replayed proof without Redis: the exchange is refused (503), not taken.
  const proof = await createProof({
    privateKeyPem: operator.credential,
    kid: operator.kid,
    audience: fleetIdOf(readFileSync(join(fleet.dataDir, 'pki', 'ca.crt'))),
  });
  const api = apiClientFor(fleet.dataDir, a.httpPort, { token: 'none' });
  try {
    const res = await api.exchange('POST', '/api/v1/auth/token', { assertion: proof });
    assert.is(res.status, 503);
  } finally {
    api.close();
  }
  assert.is((await rawRequest(a.httpPort, caOf(fleet.dataDir), { path: '/healthz' })).status, 200);
  await redis.start();
  await waitFor(async () => (await readyz(a, fleet.dataDir)).status === 200, 'node A ready again');
  await waitFor(async () => (await readyz(b, dataB)).status === 200, 'node B ready again');
  assert.ok(
    Number(
      /^edgeward_redis_reconnects_total\{node="node-a",connection="mq-sub"\} (\d+)$/m.exec(
        a.metrics.registry.render(),
      )?.[1],
    ) > 0,
  );
  const device = await connect('gw-after', a);
  await device.subscribeAsync('fleet/v1/gw-after/cmd', { qos: 1 });
  const got = nextMessage(device);
  await b.publish('fleet/v1/gw-after/cmd', Buffer.from('after restart'));
  assert.is((await got).payload.toString(), 'after restart');
});

test.run();
