// Operators, API tokens and dashboard sessions on a cluster: three fleet server nodes sharing one real redis-server
// and one real PostgreSQL. An operator added through node A's API gets a token by proof of possession from node B;
// a token node A issued is accepted by node C; a dashboard session opened on node A works on node B; revoking the
// operator through node B makes node A refuse its token and session, and close its live stream, within a second.
import { request } from 'node:https';
import * as assert from 'uvu/assert';
import type { ApiClient } from '../../broker/src/admin/api-client.js';
import type { FleetServer } from '../../broker/src/server.js';
import { generateKeyPair, keyId, privateKeyToPem, publicKeyToPem } from '../../shared/src/index.js';
import { seedStore, startClusterNodes } from '../helpers/cluster-nodes.js';
import { createTestFleet, type TestFleet, waitFor } from '../helpers/fleet.js';
import { addOperator, apiClientFor, type TestOperator } from '../helpers/operators.js';
import { testWithPeers } from '../helpers/peers.js';
import { type RunningPostgres, startPostgres } from '../helpers/postgres.js';
import { caOf, rawRequest, tokenFrom } from '../helpers/raw-https.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';

const test = testWithPeers(
  ['redis-server', 'initdb', 'postgres'],
  'apt-get install -y redis-server postgresql (and put /usr/lib/postgresql/15/bin on PATH)',
);

/** What the brief promises for a revocation: every node refuses within a second (polled, not timed). */
const WITHIN_A_SECOND = 1000;

let redis: RedisServer;
let postgres: RunningPostgres;
let fleet: TestFleet;
let root: TestOperator;
let ca: Buffer;
const nodes = new Map<string, { server: FleetServer; dir: string; root: ApiClient }>();
const clients: ApiClient[] = [];

const node = (id: string) => nodes.get(id)!;
const port = (id: string) => node(id).server.httpPort;

test.before(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  const storeUrl = await postgres.createDatabase();
  fleet = await createTestFleet(['gw-o1']);
  ca = caOf(fleet.dataDir);
  root = await addOperator(fleet.db, 'root', 'admin');
  // The seed's operator registered in the store as `fleet store migrate` does.
  await seedStore(fleet, storeUrl);
  const started = await startClusterNodes(fleet, ['node-a', 'node-b', 'node-c'], {
    redisUrl: redis.url,
    postgresUrl: storeUrl,
  });
  for (const { nodeId, dir, server } of started)
    nodes.set(nodeId, { server, dir, root: apiClientFor(dir, server.httpPort, { credential: root.credential }) });
});

test.after(async () => {
  for (const c of clients) c.close();
  for (const n of nodes.values()) {
    n.root.close();
    await n.server.close();
  }
  await fleet?.close();
  await redis?.stop();
  await postgres?.stop();
});

const client = (id: string, who: { credential?: string; token?: string }) => {
  const c = apiClientFor(node(id).dir, port(id), who);
  clients.push(c);
  return c;
};
const get = (id: string, path: string, auth: { token?: string; cookie?: string }) =>
  rawRequest(port(id), ca, {
    path,
    ...(auth.token ? { token: auth.token } : {}),
    headers: auth.cookie ? { cookie: auth.cookie } : {},
  });

/** The dashboard's event stream on a node, opened with a session cookie. */
function stream(id: string, cookie: string) {
  let status = 0;
  let ended = false;
  const req = request(
    { host: '127.0.0.1', port: port(id), path: '/api/v1/stream', ca, servername: 'localhost', headers: { cookie } },
    (res) => {
      status = res.statusCode ?? 0;
      res.resume();
      res.on('close', () => (ended = true));
    },
  );
  req.on('error', () => (ended = true));
  req.end();
  return { status: () => status, ended: () => ended, close: () => req.destroy() };
}

test('an operator added on A gets its token on B, its token from A works on C, its session from A on B', async () => {
  const pair = generateKeyPair();
  const olga: TestOperator = {
    name: 'olga',
    role: 'operator',
    credential: privateKeyToPem(pair.secretKey),
    kid: keyId(pair.publicKey),
  };
  await node('node-a').root.call('POST', '/api/v1/operators', {
    name: olga.name,
    role: olga.role,
    publicKey: publicKeyToPem(pair.publicKey),
  });
  // The same name again through another node: the store's UNIQUE name refuses it.
  const again = await node('node-c').root.exchange('POST', '/api/v1/operators', {
    name: olga.name,
    role: 'admin',
    publicKey: publicKeyToPem(generateKeyPair().publicKey),
  });
  assert.is(again.status, 409, JSON.stringify(again.body));

  // Proof of possession on node B, for an operator node B's folder never held.
  const onB = client('node-b', { credential: olga.credential });
  const devices = await onB.call<{ items: { id: string }[] }>('GET', '/api/v1/devices');
  assert.equal(
    devices.items.map((d) => d.id),
    ['gw-o1'],
  );

  // A token node A signed (its own key, the public half in the store) is accepted by node C.
  const token = await tokenFrom(port('node-a'), ca, olga);
  const onC = await get('node-c', '/api/v1/devices', { token });
  assert.is(onC.status, 200, onC.text);

  // A dashboard session: the link made through node A, opened on node A, used on node B.
  const onA = client('node-a', { credential: olga.credential });
  const link = await onA.call<{ path: string }>('POST', '/api/v1/dashboard/links');
  const opened = await get('node-a', link.path, {});
  assert.is(opened.status, 303, opened.text);
  const cookie = String(opened.headers['set-cookie']).split(';')[0]!;
  const session = await get('node-b', '/api/v1/session', { cookie });
  assert.is(session.status, 200, session.text);
  assert.is(session.json?.operator, 'olga');
  // The link was spent on A: node C does not open it again.
  assert.is((await get('node-c', link.path, {})).status, 401);

  const live = stream('node-a', cookie);
  try {
    await waitFor(() => live.status() === 200, 'the live stream on node A');
    // Revoked through node B: node A refuses the token and the session, and closes the stream, within a second.
    await node('node-b').root.call('POST', '/api/v1/operators/olga/revoke');
    await waitFor(
      async () => (await get('node-a', '/api/v1/devices', { token })).status === 401,
      "node A refusing olga's token",
      WITHIN_A_SECOND,
    );
    await waitFor(
      async () => (await get('node-a', '/api/v1/session', { cookie })).status === 401,
      "node A refusing olga's session",
      WITHIN_A_SECOND,
    );
    await waitFor(() => live.ended(), "node A closing olga's live stream", WITHIN_A_SECOND);
    const refused = await get('node-c', '/api/v1/devices', { token });
    assert.is(refused.status, 401);
    assert.is(refused.json?.reason, 'operator-revoked', refused.text);
    const listed = await node('node-c').root.call<{ items: { name: string; status: string }[] }>(
      'GET',
      '/api/v1/operators',
    );
    assert.equal(
      listed.items.map((o) => [o.name, o.status]),
      [
        ['olga', 'revoked'],
        ['root', 'active'],
      ],
    );
  } finally {
    live.close();
  }
});

test('the last active admin cannot be revoked through any node', async () => {
  const r = await node('node-c').root.exchange('POST', '/api/v1/operators/root/revoke');
  assert.is(r.status, 409, JSON.stringify(r.body));
});

test.run();
