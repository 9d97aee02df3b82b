// Two fleet server nodes sharing one real redis-server and one real PostgreSQL (--postgres): real agents on both
// store their telemetry in PostgreSQL exactly once and nothing in the nodes' own databases; admission reads the
// registry there; a command queued through node B reaches a device on node A; either node's operator API reads and
// changes the registry, telemetry and events in the store; the nodes compute the posture history there; a token made
// through one node enrols through another; a node stopping, a node (a `fleet serve` process)
// SIGKILLed while its agents send, and Redis restarting lose no acknowledged sample; the killed node's sessions are
// closed in the store's connection history by the others.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import * as assert from 'uvu/assert';
import { createAgent, createFakePlatform, type Agent } from '../../agent/src/index.js';
import { enroll } from '../../agent/src/enroll/enroll.js';
import type { ApiClient } from '../../broker/src/admin/api-client.js';
import { newCommandBody, signCommand } from '../../shared/src/commands/index.js';
import {
  BACKEND_KEY_FILE,
  generateSealKeyPair,
  parsePrivateKeyPem,
  publicKeyToPem,
  SEAL_KEY_FILE,
  sealPublicKeyToPem,
  sealSecretKeyToPem,
} from '../../shared/src/index.js';
import { addOperator, apiClientFor, type TestOperator } from '../helpers/operators.js';
import type { FleetServer } from '../../broker/src/server.js';
import { copySqliteToPostgres } from '../../broker/src/store/copy.js';
import { createPgPool } from '../../broker/src/store/postgres/pool.js';
import { openPostgresStore } from '../../broker/src/store/postgres/store.js';
import { createTestFleet, type TestFleet, startTestServer, testLogger, waitFor } from '../helpers/fleet.js';
import { testWithPeers } from '../helpers/peers.js';
import { type RunningPostgres, startPostgres } from '../helpers/postgres.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { tmpDir } from '../helpers/tmp.js';
import { freePort, waitForPort } from '../helpers/mosquitto.js';
import { startServeSource } from '../helpers/run.js';
import { createCsr, generateKeyPair as generateP256, privateKeyPem } from '../../shared/src/x509.js';

const test = testWithPeers(
  ['redis-server', 'initdb', 'postgres'],
  'apt-get install -y redis-server postgresql (and put /usr/lib/postgresql/15/bin on PATH)',
);
const AGENTS = ['gw-pa1', 'gw-pa2', 'gw-pb1', 'gw-pb2'];
/** Agents of the node that is SIGKILLed. */
const KILLED = ['gw-k1', 'gw-k2'];
/** Connected to the SIGKILLed node and never again: its online flag is cleared by the others' sweep. */
const GONE = 'gw-gone';
const DEVICES = [...AGENTS, ...KILLED, GONE, 'gw-unregistered'];
const DAY = 86_400_000;
const OLD_REPORT_AT = Date.now() - 2 * DAY;

let redis: RedisServer;
let postgres: RunningPostgres;
let storeUrl: string;
let sql: pg.Client;
let fleet: TestFleet;
let a: FleetServer | undefined;
let b: FleetServer;
let dataA: string;
let dataB: string;
let dataC: string;
let dataD: string;
const agents = new Map<string, Agent>();
let op: TestOperator;
let apiB: ApiClient;

const urlOf = (s: FleetServer) => `mqtts://127.0.0.1:${s.mqttPort}`;
const startNode = (dataDir: string, nodeId: string, mqttPort = 0) =>
  startTestServer({ dataDir, mqttPort, cluster: { redisUrl: redis.url, nodeId, postgresUrl: storeUrl } });
const count = async (query: string, params: unknown[] = []) =>
  Number((await sql.query<{ n: string }>(query, params)).rows[0]!.n);
/** Samples of the device acknowledged by the server, by the agent's own count. */
const acked = (id: string) => agents.get(id)!.stats().lastAckedSequence;
const startAgent = async (id: string, servers: string[]) => {
  const operators = [
    {
      name: op.name,
      publicKey: publicKeyToPem(parsePrivateKeyPem(op.credential).publicKey),
      allow: ['set-relay'],
    },
  ];
  const agent = await createAgent({
    config: fleet.agentConfig(id, { server: servers, operators }),
    platform: createFakePlatform(3),
    log: testLogger(),
  });
  agents.set(id, agent);
  return agent;
};

test.before(async () => {
  [redis, postgres] = await Promise.all([startRedis({ appendOnly: true }), startPostgres()]);
  storeUrl = await postgres.createDatabase();
  fleet = await createTestFleet(DEVICES);
  op = await addOperator(fleet.db, 'carol', 'admin');
  // The devices are registered in PostgreSQL as `fleet store migrate` does: the enrolled folder copied over (their
  // certificates and sealing keys), all but one, which stays known to the folders only.
  const pool = createPgPool(storeUrl);
  const store = await openPostgresStore(storeUrl);
  await store.close();
  await copySqliteToPostgres(fleet.db, pool);
  await pool.end();
  sql = new pg.Client({ connectionString: storeUrl });
  await sql.connect();
  await sql.query(`DELETE FROM device_keys WHERE device_id = 'gw-unregistered'`);
  await sql.query(`DELETE FROM certificates WHERE device_id = 'gw-unregistered'`);
  await sql.query(`DELETE FROM devices WHERE id = 'gw-unregistered'`);
  // A report from two days ago: the nodes compute the posture snapshots of its periods in the store when they start.
  await sql.query(
    `INSERT INTO exposure_reports (device_id, msg_id, device_ts, received_at, scoring_version, score, grade,
       categories, services, findings, report) VALUES ('gw-pa1', 'old-1', $1, $1, 1, 55, 'D', '{}', 0, 0, '{}')`,
    [OLD_REPORT_AT],
  );
  // A sample past the default retention (90 days), first in arrival order: a node's retention deletes it.
  await sql.query(
    `INSERT INTO telemetry (id, device_id, stream, seq, device_ts, received_at, metrics)
     VALUES (-1, 'gw-pa1', 'old-stream', 7, $1, $1, '{}')`,
    [Date.now() - 100 * DAY],
  );
  fleet.db.close();
  dataA = join(tmpDir('edgeward-node-a-'), 'data');
  dataB = join(tmpDir('edgeward-node-b-'), 'data');
  cpSync(fleet.dataDir, dataA, { recursive: true });
  cpSync(fleet.dataDir, dataB, { recursive: true });
  dataC = join(tmpDir('edgeward-node-c-'), 'data');
  dataD = join(tmpDir('edgeward-node-d-'), 'data');
  cpSync(fleet.dataDir, dataC, { recursive: true });
  cpSync(fleet.dataDir, dataD, { recursive: true });
  // Started together: the store's migrations run once, under its advisory lock.
  [a, b] = await Promise.all([startNode(dataA, 'node-a'), startNode(dataB, 'node-b')]);
  apiB = apiClientFor(dataB, b.httpPort, { credential: op.credential });
});

test.after(async () => {
  apiB?.close();
  for (const agent of agents.values()) await agent.close();
  await a?.close();
  await b?.close();
  await fleet?.close();
  await sql?.end();
  await redis?.stop();
  await postgres?.stop();
});

test('agents on both nodes: every acknowledged sample is in PostgreSQL once, none in the nodes folders', async () => {
  await startAgent('gw-pa1', [urlOf(a!)]);
  await startAgent('gw-pa2', [urlOf(a!), urlOf(b)]);
  await startAgent('gw-pb1', [urlOf(b)]);
  await startAgent('gw-pb2', [urlOf(b), urlOf(a!)]);
  await waitFor(() => AGENTS.every((id) => acked(id) >= 3), 'three samples acknowledged per agent', 20_000);
  for (const id of AGENTS) {
    const stored = await count('SELECT count(*) AS n FROM telemetry WHERE device_id = $1', [id]);
    assert.ok(stored >= acked(id), `${id}: ${stored} stored, ${acked(id)} acknowledged`);
    assert.is(await count('SELECT count(DISTINCT seq) AS n FROM telemetry WHERE device_id = $1', [id]), stored);
    assert.is(await count(`SELECT online::int AS n FROM devices WHERE id = $1`, [id]), 1);
  }
  for (const node of [a!, b]) assert.is(node.db.prepare('SELECT count(*) FROM telemetry').pluck().get(), 0);
});

test('admission reads PostgreSQL: a device the store does not hold is refused, audited there', async () => {
  const refused = await fleet.connect('gw-unregistered', { url: urlOf(b) }).then(
    (c) => (c.end(true), false),
    () => true,
  );
  assert.ok(refused, 'the CONNECT is refused');
  await waitFor(
    async () =>
      (await count(`SELECT count(*) AS n FROM audit WHERE event = 'auth.denied' AND device_id = 'gw-unregistered'`)) >
      0,
    'the refusal in the store audit',
  );
});

/** Signs a set-relay command for the device and submits it through a node's API (node B's); returns its id. */
async function sendThrough(api: ApiClient, deviceId: string): Promise<string> {
  const { counter } = await api.call<{ counter: number }>('POST', '/api/v1/commands/counter');
  const body = newCommandBody({ deviceId, command: 'set-relay', params: { channel: 1, state: 'on' }, counter });
  const envelope = signCommand(body, parsePrivateKeyPem(op.credential).secretKey);
  await api.call('POST', `/api/v1/devices/${deviceId}/commands`, { envelope: envelope.toString('base64') });
  return body.id;
}

const commandDone = (id: string) =>
  waitFor(
    async () => (await sql.query(`SELECT 1 FROM commands WHERE id = $1 AND status = 'done'`, [id])).rowCount === 1,
    `command ${id} acknowledged done in PostgreSQL`,
    15_000,
  );

test('a command submitted through node B reaches the device on node A; its acks are recorded', async () => {
  assert.ok(a!.sessions.get('gw-pa1') && !b.sessions.get('gw-pa1'), 'gw-pa1 is on node A only');
  const id = await sendThrough(apiB, 'gw-pa1');
  await commandDone(id);
  assert.ok((await count('SELECT count(*) AS n FROM command_acks WHERE cmd_id = $1', [id])) >= 1);
  const seen = await apiB.call<{ status: string }>('GET', `/api/v1/commands/${id}`);
  assert.is(seen.status, 'done');
});

test('the operator API of either node reads the shared store: devices, telemetry, events, the overview', async () => {
  await waitFor(
    async () => (await count(`SELECT count(*) AS n FROM telemetry WHERE device_id = 'gw-pa1'`)) >= 3,
    'samples of gw-pa1 in the store',
  );
  const page = await apiB.call<{ items: { id: string; online: boolean; telemetryCount: number }[] }>(
    'GET',
    '/api/v1/devices?limit=1000',
  );
  const pa1 = page.items.find((d) => d.id === 'gw-pa1');
  assert.ok(pa1, 'node B lists the device connected to node A');
  assert.is(pa1.online, true);
  assert.not.ok(
    page.items.some((d) => d.id === 'gw-unregistered'),
    'the list is the store, which does not hold gw-unregistered',
  );
  const stored = await count(`SELECT count(*) AS n FROM telemetry WHERE device_id = 'gw-pa1'`);
  const samples = await apiB.call<{ items: { seq: number }[] }>('GET', '/api/v1/devices/gw-pa1/telemetry?limit=1000');
  assert.ok(samples.items.length >= Math.min(stored, 3), `${samples.items.length} samples read of ${stored}`);
  const fleetWide = await apiB.call<{ items: { deviceId: string }[] }>('GET', '/api/v1/telemetry?limit=1000');
  assert.ok(fleetWide.items.some((x) => x.deviceId === 'gw-pb1'));
  const events = await apiB.call<{ items: { event: string; deviceId: string | null }[] }>(
    'GET',
    '/api/v1/events?event=auth.denied',
  );
  assert.ok(
    events.items.some((e) => e.deviceId === 'gw-unregistered'),
    "node A's refusal, recorded in the store, read through node B",
  );
  const overview = await apiB.call<{ devices: { total: number; online: number } }>('GET', '/api/v1/overview');
  assert.is(overview.devices.total, await count('SELECT count(*) AS n FROM devices'));
  assert.ok(overview.devices.online >= AGENTS.length);
  const hourly = await apiB.call<{ hours: { samples: number }[] }>('GET', '/api/v1/telemetry/hourly?hours=1');
  const counted = hourly.hours.reduce((n, h) => n + h.samples, 0);
  assert.ok(counted >= stored, `the hourly chart counts the samples in the store (${counted} of ${stored})`);

  // Retention ran on the store: the old sample is gone, its stream keeps the seq it reached.
  await waitFor(
    async () => (await count(`SELECT count(*) AS n FROM telemetry WHERE stream = 'old-stream'`)) === 0,
    'the sample past retention deleted',
  );
  assert.is(
    await count(`SELECT through_seq AS n FROM telemetry_pruned WHERE device_id = 'gw-pa1' AND stream = 'old-stream'`),
    7,
  );

  // The posture history: the days since the old report stored by the nodes in PostgreSQL (once: the period is the
  // key), and today live from the reports the agents sent.
  const oldDay = Math.floor(OLD_REPORT_AT / DAY) * DAY;
  await waitFor(
    async () => (await count(`SELECT count(*) AS n FROM posture_snapshots WHERE resolution = 'day'`)) >= 2,
    'the daily snapshots since the old report in the store',
  );
  const reporting = () => count(`SELECT count(DISTINCT device_id) AS n FROM exposure_reports`);
  const history = () =>
    apiB.call<{ periods: { start: string; devices: number; partial?: true }[] }>(
      'GET',
      `/api/v1/posture/history?resolution=day&since=${new Date(oldDay).toISOString()}`,
    );
  const days = await history();
  assert.equal(
    days.periods.map((p) => [p.start, p.partial ?? false]),
    [0, 1, 2].map((d) => [new Date(oldDay + d * DAY).toISOString(), d === 2]),
  );
  assert.is(days.periods[0]!.devices, 1, 'gw-pa1 by its old report');
  // Today, live: every device with a report in the store (agents may still be sending their first).
  await waitFor(
    async () => (await history()).periods[2]!.devices === (await reporting()),
    "today's period counts every device with a report in the store",
  );
});

test('a device added through node B runs a sealed command sent through A; revoked through A, B drops it', async () => {
  const id = 'gw-api-new';
  const keys = await generateP256();
  const seal = generateSealKeyPair();
  const issued = await apiB.call<{ certificate: string; backendSealKey: string }>('POST', '/api/v1/devices', {
    id,
    csr: await createCsr(id, keys),
    sealKey: sealPublicKeyToPem(seal.publicKey),
  });
  assert.is(await count('SELECT count(*) AS n FROM devices WHERE id = $1', [id]), 1);
  assert.is(await count('SELECT count(*) AS n FROM device_keys WHERE device_id = $1', [id]), 1);
  for (const node of [a!, b]) assert.not.ok(node.registry.exists(id), 'in the store only, not in a node folder');
  // The device's own folder, as `fleet device add --server` leaves it: its keys and what the API returned.
  const dir = fleet.deviceDir(id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'device.key'), await privateKeyPem(keys.privateKey), { mode: 0o600 });
  writeFileSync(join(dir, 'device.crt'), issued.certificate);
  writeFileSync(join(dir, 'ca.crt'), readFileSync(join(fleet.deviceDir('gw-pa1'), 'ca.crt')));
  writeFileSync(join(dir, SEAL_KEY_FILE), sealSecretKeyToPem(seal), { mode: 0o600 });
  writeFileSync(join(dir, BACKEND_KEY_FILE), issued.backendSealKey);
  const agent = await startAgent(id, [urlOf(b)]);
  await waitFor(() => b.sessions.get(id) && agent.stats().lastAckedSequence >= 1, `${id} sending through node B`);
  const apiA = apiClientFor(dataA, a!.httpPort, { credential: op.credential });
  try {
    // Node A seals the command to the key the store holds (node A's folder has none): the agent opens and runs it.
    await commandDone(await sendThrough(apiA, id));
    const started = Date.now();
    await apiA.call('POST', `/api/v1/devices/${id}/revoke`);
    await waitFor(() => !b.sessions.get(id), 'the session on node B dropped', 10_000);
    console.log(`      revoked through node A: the session on node B dropped in ${Date.now() - started} ms`);
    assert.is(await count(`SELECT count(*) AS n FROM devices WHERE id = $1 AND status = 'revoked'`, [id]), 1);
    await agent.close();
    const again = await fleet.connect(id, { url: urlOf(a!), plain: true }).then(
      (c) => (c.end(true), false),
      () => true,
    );
    assert.ok(again, 'the revoked device is refused at CONNECT');
    const revoked = await apiB.call<{ items: { event: string }[] }>('GET', `/api/v1/events?deviceId=${id}`);
    assert.ok(
      revoked.items.some((e) => e.event === 'device.revoked'),
      'the revocation is in the store',
    );
  } finally {
    await agent.close();
    apiA.close();
  }
});

test('a token made through node B enrols a device through node A; B admits it; spent for both', async () => {
  const id = 'gw-enrolled';
  const made = await apiB.call<{ tokens: string[] }>('POST', '/api/v1/enrollment-tokens', {
    count: 1,
    ttlSeconds: 3600,
    deviceType: 'sensor',
  });
  const token = made.tokens[0]!;
  const ca = readFileSync(join(fleet.deviceDir('gw-pa1'), 'ca.crt'), 'utf8');
  const dir = fleet.deviceDir(id);
  const via = (node: FleetServer) => `https://127.0.0.1:${node.httpPort}`;
  const r = await enroll({ server: via(a!), token, ca, deviceId: id, outDir: dir, mqtt: urlOf(b) });
  assert.is(r.deviceId, id);
  assert.is(await count(`SELECT count(*) AS n FROM devices WHERE id = $1 AND device_type = 'sensor'`, [id]), 1);
  assert.is(await count('SELECT count(*) AS n FROM device_keys WHERE device_id = $1', [id]), 1);
  for (const node of [a!, b]) assert.not.ok(node.registry.exists(id), 'in the store only, not in a node folder');
  const agent = await startAgent(id, [urlOf(b)]);
  try {
    await waitFor(() => b.sessions.get(id) && agent.stats().lastAckedSequence >= 1, `${id} sending through node B`);
  } finally {
    await agent.close();
  }
  // Spent in the store: node B refuses it too.
  const again = await enroll({ server: via(b), token, ca, deviceId: 'gw-enrolled-2', outDir: `${dir}-2` }).then(
    () => 'enrolled',
    (err: { details?: { reason?: string } }) => err.details?.reason,
  );
  assert.is(again, 'token-used');
  const events = await apiB.call<{ items: { event: string; deviceId: string | null }[] }>(
    'GET',
    '/api/v1/events?event=enroll.succeeded',
  );
  assert.ok(events.items.some((e) => e.deviceId === id));
  // The operator audit trail is the store's: node A's API shows the tokens made through node B.
  const apiA = apiClientFor(dataA, a!.httpPort, { credential: op.credential });
  try {
    const trail = await apiA.call<{ items: { action: string; operator: string; outcome: string }[] }>(
      'GET',
      '/api/v1/audit?action=enrollment.create-tokens',
    );
    assert.equal(
      trail.items.map((e) => [e.action, e.operator, e.outcome]),
      [['enrollment.create-tokens', op.name, 'ok']],
    );
    assert.is(await count(`SELECT count(*) AS n FROM operator_audit WHERE action = 'enrollment.create-tokens'`), 1);
  } finally {
    apiA.close();
  }
});

/** Every sample the agent had acknowledged is stored, each once (sequences start at 1). */
async function assertNoneLostOrTwice(id: string, ackedBefore: number): Promise<void> {
  const stored = await count('SELECT count(*) AS n FROM telemetry WHERE device_id = $1', [id]);
  assert.is(await count('SELECT count(DISTINCT seq) AS n FROM telemetry WHERE device_id = $1', [id]), stored);
  const upTo = await count('SELECT count(*) AS n FROM telemetry WHERE device_id = $1 AND seq <= $2', [id, ackedBefore]);
  assert.is(upTo, ackedBefore, `${id}: every acknowledged sample stored`);
}

test('Redis restarting loses no acknowledged sample', async () => {
  const before = new Map(AGENTS.map((id) => [id, acked(id)]));
  await redis.restart();
  await waitFor(() => a!.readiness().redis && b.readiness().redis, 'both nodes back on Redis', 20_000);
  await waitFor(
    () => AGENTS.every((id) => acked(id) > before.get(id)!),
    'samples acknowledged after the restart',
    20_000,
  );
  for (const id of AGENTS) await assertNoneLostOrTwice(id, acked(id));
});

test('node A stopping while its agents send: they go on through node B, nothing lost or stored twice', async () => {
  const movers = ['gw-pa2', 'gw-pb2'].filter((id) => a!.sessions.get(id));
  movers.push('gw-pa2');
  const stopped = a!;
  a = undefined;
  await stopped.close();
  const after = new Map(AGENTS.map((id) => [id, acked(id)]));
  await waitFor(() => b.sessions.get('gw-pa2'), 'gw-pa2 on node B', 20_000);
  await waitFor(() => acked('gw-pa2') > after.get('gw-pa2')! + 1, 'gw-pa2 acknowledged by node B', 20_000);
  for (const id of new Set(movers)) await assertNoneLostOrTwice(id, acked(id));
  assert.is(await count(`SELECT online::int AS n FROM devices WHERE id = 'gw-pa2'`), 1);
});

test('a node SIGKILLed while its agents send: they go on through another, nothing acked lost or twice', async () => {
  const c = await startServeSource(dataC, [
    '--cluster',
    '--redis',
    redis.url,
    '--node-id',
    'node-c',
    '--postgres',
    storeUrl,
  ]);
  let d: FleetServer | undefined;
  try {
    await waitForPort(c.mqttPort, 20_000);
    // Node D's port is not listening yet: the agents, given [C, D], start on C.
    const dPort = await freePort();
    for (const id of KILLED) await startAgent(id, [`mqtts://127.0.0.1:${c.mqttPort}`, `mqtts://127.0.0.1:${dPort}`]);
    await waitFor(() => KILLED.every((id) => acked(id) >= 2), 'samples acknowledged by node C', 20_000);
    const gone = await fleet.connect(GONE, { url: `mqtts://127.0.0.1:${c.mqttPort}`, plain: true });
    gone.on('error', () => {});
    await waitFor(
      async () => (await count(`SELECT count(*) AS n FROM devices WHERE id = $1 AND online = 1`, [GONE])) === 1,
      `${GONE} online on node C`,
    );
    const openOn = (node: string, ids: string[]) =>
      count(
        `SELECT count(*) AS n FROM connections WHERE node = $1 AND device_id = ANY($2) AND disconnected_at IS NULL`,
        [node, ids],
      );
    await waitFor(async () => (await openOn('node-c', [...KILLED, GONE])) === 3, 'node C to write its sessions');
    d = await startNode(dataD, 'node-d', dPort);
    c.child.kill('SIGKILL');
    await c.exited;
    gone.end(true);
    const before = new Map(KILLED.map((id) => [id, acked(id)]));
    await waitFor(
      () => KILLED.every((id) => acked(id) > before.get(id)! + 1) && KILLED.every((id) => d!.sessions.get(id)),
      'the agents acknowledged by node D',
      30_000,
    );
    for (const id of KILLED) await assertNoneLostOrTwice(id, acked(id));
    // Node C's heartbeat expires; the others mark its devices offline, but not those that came back elsewhere.
    const killedAt = Date.now();
    await waitFor(
      async () => (await count(`SELECT count(*) AS n FROM devices WHERE id = $1 AND online = 0`, [GONE])) === 1,
      `${GONE} marked offline after node C died`,
      30_000,
    );
    console.log(`      ${GONE} marked offline ${Date.now() - killedAt} ms after its node's agents moved on`);
    assert.is(await count(`SELECT count(*) AS n FROM devices WHERE id = ANY($1) AND online = 1`, [KILLED]), 2);
    // … and close its sessions in the connection history; those of node D stay open.
    await waitFor(async () => (await openOn('node-c', [...KILLED, GONE])) === 0, "node C's sessions closed", 10_000);
    await waitFor(async () => (await openOn('node-d', KILLED)) === 2, "node D's sessions open");
  } finally {
    c.child.kill('SIGKILL');
    await d?.close();
  }
});

test('a command queued while its device is away is delivered when it connects again (to node B)', async () => {
  await agents.get('gw-pa1')!.close();
  await waitFor(() => !b.sessions.get('gw-pa1'), 'gw-pa1 away');
  const id = await sendThrough(apiB, 'gw-pa1');
  assert.is(await count(`SELECT count(*) AS n FROM commands WHERE id = $1 AND status = 'pending'`, [id]), 1);
  await startAgent('gw-pa1', [urlOf(b)]);
  await commandDone(id);
});

test.run();
