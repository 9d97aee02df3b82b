// The fleet audit on a cluster: three fleet server nodes sharing one real redis-server and one real PostgreSQL.
// A device connects to node A, then the same certificate from another address to node B (a cloned key): each node
// writes its session into the store's connection history, so the audit run through node B finds the certificate used
// from two addresses at once, and node C shows that run as the latest. Stopping node A closes its rows.
import type { MqttClient } from 'mqtt';
import * as assert from 'uvu/assert';
import type { ApiClient } from '../../broker/src/admin/api-client.js';
import type { FleetAuditRun } from '../../broker/src/admin/types.js';
import type { FleetServer } from '../../broker/src/server.js';
import { createPgPool, type PgPool } from '../../broker/src/store/postgres/pool.js';
import { seedStore, startClusterNodes } from '../helpers/cluster-nodes.js';
import { createTestFleet, type TestFleet, waitFor } from '../helpers/fleet.js';
import { addOperator, apiClientFor } from '../helpers/operators.js';
import { testWithPeers } from '../helpers/peers.js';
import { type RunningPostgres, startPostgres } from '../helpers/postgres.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const test = testWithPeers(
  ['redis-server', 'initdb', 'postgres'],
  'apt-get install -y redis-server postgresql (and put /usr/lib/postgresql/15/bin on PATH)',
);

let redis: RedisServer;
let postgres: RunningPostgres;
let fleet: TestFleet;
let pool: PgPool;
const nodes = new Map<string, { server: FleetServer; api: ApiClient }>();
const devices: MqttClient[] = [];

const node = (id: string) => nodes.get(id)!;

test.before(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  const storeUrl = await postgres.createDatabase();
  fleet = await createTestFleet(['gw-clone', 'gw-honest']);
  const root = await addOperator(fleet.db, 'root', 'admin');
  // The seed's devices and operator registered in the store as `fleet store migrate` does.
  await seedStore(fleet, storeUrl);
  pool = createPgPool(storeUrl);
  const started = await startClusterNodes(fleet, ['node-a', 'node-b', 'node-c'], {
    redisUrl: redis.url,
    postgresUrl: storeUrl,
  });
  for (const { nodeId, dir, server } of started)
    nodes.set(nodeId, { server, api: apiClientFor(dir, server.httpPort, { credential: root.credential }) });
});

test.after(async () => {
  for (const d of devices) await d.endAsync(true);
  for (const n of nodes.values()) {
    n.api.close();
    await n.server.close();
  }
  await pool?.end();
  await fleet?.close();
  await redis?.stop();
  await postgres?.stop();
});

const connect = async (id: string, nodeId: string, localAddress: string) => {
  // localAddress goes to the TLS socket; MQTT.js's types do not name it.
  const client = await fleet.connect(id, {
    url: `mqtts://127.0.0.1:${node(nodeId).server.mqttPort}`,
    plain: true,
    localAddress,
  } as Parameters<TestFleet['connect']>[1]);
  devices.push(client);
  return client;
};

/** The device's rows of the store's connection history, oldest first. */
const history = async (deviceId: string) =>
  (
    await pool.query<{ node: string; address: string; open: boolean }>(
      'test',
      `SELECT node, address, disconnected_at IS NULL AS open FROM connections WHERE device_id = $1 ORDER BY id`,
      [deviceId],
    )
  ).rows;

test('the audit through node B finds one certificate used on nodes A and B at once; node C shows the run', async () => {
  await connect('gw-honest', 'node-c', '127.0.0.1');
  const first = await connect('gw-clone', 'node-a', '127.0.0.1');
  const firstClosed = new Promise<void>((r) => first.once('close', () => r()));
  await waitFor(async () => (await history('gw-clone')).length === 1, 'node A to write its session', 10_000);
  // The same certificate from another address, on another node: node A drops its session (the takeover) and closes
  // its row, after node B's row was opened.
  await connect('gw-clone', 'node-b', '127.0.0.3');
  await firstClosed;
  await waitFor(
    async () =>
      JSON.stringify(await history('gw-clone')) ===
      JSON.stringify([
        { node: 'node-a', address: '127.0.0.1', open: false },
        { node: 'node-b', address: '127.0.0.3', open: true },
      ]),
    'both nodes to write the sessions',
    10_000,
  );

  const run = await node('node-b').api.call<FleetAuditRun>('POST', '/api/v1/fleet-audit');
  const clones = run.findings.filter((f) => f.check === 'cert-multiple-addresses');
  assert.equal(
    clones.map((f) => f.deviceId),
    ['gw-clone'],
    JSON.stringify(run.findings),
  );
  assert.match(clones[0]!.detail, /from 127\.0\.0\.1 and 127\.0\.0\.3 at the same time/);
  // Devices connected through other nodes are online in the store: none is reported as never seen.
  assert.equal(
    run.findings.filter((f) => f.check === 'device-never-seen' || f.check === 'device-not-seen'),
    [],
  );

  // The run is the store's: node C reads it as the latest, and it is the only one.
  assert.equal(await node('node-c').api.call<FleetAuditRun>('GET', '/api/v1/fleet-audit'), run);
  const runs = await pool.query<{ n: number }>('test', 'SELECT count(*) AS n FROM audit_runs');
  assert.is(runs.rows[0]!.n, 1);
});

test('a node that stops closes its sessions in the history', async () => {
  await node('node-c').server.close();
  nodes.get('node-c')!.api.close();
  nodes.delete('node-c');
  await waitFor(async () => (await history('gw-honest')).every((r) => !r.open), 'node C to close its rows', 10_000);
});

test.run();
