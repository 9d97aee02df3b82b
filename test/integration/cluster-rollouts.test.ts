// The update channel on a cluster: three fleet server nodes sharing one real redis-server and one real PostgreSQL.
// A trust document and a release are published through node A's API (the bundle's bytes into the store), a
// rollout is created through node B's, and devices connected to nodes C and A (real MQTT clients with their
// certificates) are offered it stage by stage: each downloads the bundle over mutual TLS from its own node (node C
// writes it from the store first), reports through it, and the rollout advances and completes, as node C's API and
// the store show; of the three nodes' engines exactly one records each move.
import { existsSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import pg from 'pg';
import * as assert from 'uvu/assert';
import type { ApiClient } from '../../broker/src/admin/api-client.js';
import { createRemoteAdmin } from '../../broker/src/admin/remote.js';
import type { FleetAdmin } from '../../broker/src/admin/types.js';
import type { FleetServer } from '../../broker/src/server.js';
import type { UpdateOffer } from '../../shared/src/index.js';
import { createFirmwareKit } from '../helpers/firmware.js';
import { seedStore, startClusterNodes } from '../helpers/cluster-nodes.js';
import { createTestFleet, type TestFleet, waitFor } from '../helpers/fleet.js';
import { addOperator, apiClientFor, type TestOperator } from '../helpers/operators.js';
import { testWithPeers } from '../helpers/peers.js';
import { type RunningPostgres, startPostgres } from '../helpers/postgres.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { fakeUpdater, type FakeUpdater } from '../helpers/rollout-devices.js';
import { tmpDir } from '../helpers/tmp.js';

const test = testWithPeers(
  ['redis-server', 'initdb', 'postgres'],
  'apt-get install -y redis-server postgresql (and put /usr/lib/postgresql/15/bin on PATH)',
);
const DEVICES = ['gw-u1', 'gw-u2'];

let redis: RedisServer;
let postgres: RunningPostgres;
let sql: pg.Client;
let fleet: TestFleet;
let op: TestOperator;
const nodes = new Map<string, { server: FleetServer; dir: string; api: ApiClient; admin: FleetAdmin }>();
const devices: FakeUpdater[] = [];

const node = (id: string) => nodes.get(id)!;

test.before(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  const storeUrl = await postgres.createDatabase();
  fleet = await createTestFleet(DEVICES);
  op = await addOperator(fleet.db, 'rita', 'admin');
  // The devices registered in the store as `fleet store migrate` does.
  await seedStore(fleet, storeUrl);
  sql = new pg.Client({ connectionString: storeUrl });
  await sql.connect();
  const started = await startClusterNodes(
    fleet,
    ['node-a', 'node-b', 'node-c'],
    { redisUrl: redis.url, postgresUrl: storeUrl },
    { rolloutTickMs: 100 },
  );
  for (const { nodeId, dir, server } of started) {
    const api = apiClientFor(dir, server.httpPort, { credential: op.credential });
    nodes.set(nodeId, { server, dir, api, admin: createRemoteAdmin(api) });
  }
});

test.after(async () => {
  for (const d of devices) await d.close();
  for (const n of nodes.values()) {
    n.api.close();
    await n.server.close();
  }
  await fleet?.close();
  await sql?.end();
  await redis?.stop();
  await postgres?.stop();
});

/** Downloads an offer's bundle as the device, from the node the offer names (mutual TLS, the offer's token). */
function download(deviceId: string, offer: UpdateOffer): Promise<{ status: number; body: Buffer }> {
  const url = new URL(offer.url!);
  const creds = fleet.credentials(deviceId);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: { authorization: `Bearer ${offer.token}` },
        ...creds,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('a release published on A, a rollout made on B: devices on C and A update through their nodes', async () => {
  const kit = createFirmwareKit(tmpDir('edgeward-cluster-fw-'));
  // 2.5 MiB: node C writes it from three rows of the store.
  const bundle = kit.bundle({ version: '2.0.0', sequence: 20 }, Math.floor(2.5 * (1 << 20)));
  assert.ok((await node('node-a').admin.trust.set(kit.trust)).installed);
  const published = await node('node-a').admin.releases.publish({ path: bundle.path });
  assert.ok(published.created);
  assert.is(published.release.id, bundle.id);
  assert.is((await node('node-c').admin.releases.get(bundle.id.slice(0, 12))).version, '2.0.0');
  assert.equal((await node('node-b').admin.trust.list()).length, 1);
  const releaseFileOf = (n: string) => join(node(n).dir, 'releases', `${bundle.id}.ewfw`);
  assert.ok(existsSync(releaseFileOf('node-a')), 'the publishing node keeps its file');
  assert.not.ok(existsSync(releaseFileOf('node-c')), 'node C has only the store’s copy');

  // gw-u1 on node C, gw-u2 on node A.
  const onC = fakeUpdater(fleet, 'gw-u1', 'manual', { url: `mqtts://127.0.0.1:${node('node-c').server.mqttPort}` });
  const onA = fakeUpdater(fleet, 'gw-u2', 'manual', { url: `mqtts://127.0.0.1:${node('node-a').server.mqttPort}` });
  devices.push(onC, onA);
  await onC.connect();
  await onA.connect();
  const home = new Map([
    [onC.id, node('node-c').server],
    [onA.id, node('node-a').server],
  ]);

  const created = await node('node-b').admin.rollouts.create({
    releaseId: bundle.id,
    selector: `ids:${DEVICES.join(',')}`,
    stages: [50, 100],
    minWaitMs: 0,
  });
  assert.is(created.devices, 2);
  const order = (await node('node-b').admin.rollouts.get(created.id, { devices: true })).deviceList!.map(
    (d) => d.deviceId,
  );
  const installs = (d: FakeUpdater) => d.offers.filter((o) => o.action === 'install');

  for (const [stage, deviceId] of order.entries()) {
    const device = devices.find((d) => d.id === deviceId)!;
    const other = devices.find((d) => d.id !== deviceId)!;
    const [offer] = await waitFor(() => (installs(device).length > 0 ? installs(device) : undefined), `stage ${stage}`);
    if (stage === 0) assert.is(installs(other).length, 0, 'stage 0 offers one device');
    assert.is(offer!.rolloutId, created.id);
    assert.is(offer!.size, bundle.bytes.length);
    assert.ok(offer!.url!.includes(`:${home.get(deviceId)!.downloadPort}/`), 'the offer names the device’s node');
    await device.report('Downloading');
    const got = await download(deviceId, offer!);
    assert.is(got.status, 200);
    assert.ok(got.body.equals(Buffer.from(bundle.bytes)), 'the downloaded bundle is the published one');
    await device.report('Installing');
    await device.report('Committed');
  }
  assert.ok(existsSync(releaseFileOf('node-c')), 'node C wrote the bundle from the store');

  // Seen through node C's API, from the store; each move recorded once although three engines ran.
  const done = await waitFor(async () => {
    const v = await node('node-c').admin.rollouts.get(created.id, { devices: true });
    return v.state === 'completed' ? v : undefined;
  }, 'the rollout completed');
  assert.is(done.updated, 2);
  assert.equal(
    done.deviceList!.map((d) => d.state),
    ['Committed', 'Committed'],
  );
  assert.equal(
    done.stageTimes.map((s) => [s.stage, s.devices, s.endedAt !== null]),
    [
      [0, 1, true],
      [1, 2, true],
    ],
  );
  const completed = await sql.query(
    `SELECT count(*)::int AS n FROM audit WHERE event = 'rollout.completed' AND detail::jsonb->>'rolloutId' = $1`,
    [String(created.id)],
  );
  assert.is(completed.rows[0].n, 1);
  const reports = await sql.query('SELECT count(*)::int AS n FROM update_status WHERE rollout_id = $1', [created.id]);
  assert.is(reports.rows[0].n, 6);
  for (const n of nodes.values()) assert.is(n.server.db.prepare('SELECT count(*) FROM rollouts').pluck().get(), 0);
});

test.run();
