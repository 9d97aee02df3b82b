// A real 3-node cluster (`fleet cluster up --nodes 3`: redis-server, PostgreSQL, HAProxy) under 300 simulated
// devices (the simulator's virtual devices: the real agent, in this process) sending QoS 1 telemetry through
// HAProxy: the node holding the most of them is SIGKILLed, they come back through HAProxy on the others, commands
// queued for them meanwhile are delivered, Redis restarts; every acknowledged sample is in PostgreSQL exactly once,
// read there directly. Also: a command through node B reaches a device on node A, and a revocation on node C drops
// the device's session on node A.
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import * as assert from 'uvu/assert';
import { createKeyring, parseAgentConfig } from '../../agent/src/index.js';
import type { ApiClient } from '../../broker/src/admin/api-client.js';
import {
  type ClusterLayout,
  type ClusterPlan,
  clusterLayout,
  findClusterBinaries,
  requirePlan,
} from '../../broker/src/cluster/local/index.js';
import { postgresUrl } from '../../broker/src/cluster/local/postgres.js';
import { startRedis, stopRedis } from '../../broker/src/cluster/local/redis.js';
import { newCommandBody, signCommand } from '../../shared/src/commands/index.js';
import {
  BACKEND_KEY_FILE,
  parsePrivateKeyPem,
  parseSealPublicKeyPem,
  parseSealSecretKeyPem,
  publicKeyToPem,
  SEAL_KEY_FILE,
  sealChannel,
  silentLogger,
} from '../../shared/src/index.js';
import type { FirmwareGate } from '../../simulator/src/firmware-gate.js';
import { simDir, simIds } from '../../simulator/src/identities.js';
import {
  createVirtualDevice,
  type DeviceCounters,
  newCounters,
  type VirtualDevice,
} from '../../simulator/src/virtual-device.js';
import { waitFor } from '../helpers/fleet.js';
import { apiClientFor } from '../helpers/operators.js';
import { testWithPeers } from '../helpers/peers.js';
import { rawRequest } from '../helpers/raw-https.js';
import { fleetCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const test = testWithPeers(
  ['redis-server', 'haproxy', 'initdb', 'postgres'],
  'apt-get install -y redis-server haproxy postgresql',
);

const FLEET = 300;
/** Devices sending through HAProxy: sim-00001 … sim-00300. */
const FLEET_IDS = simIds('sim-', FLEET);
/** One more identity, outside the fleet, for the tests on named nodes (it ends revoked). */
const SPARE = 'sim-00301';
/** Commands queued for devices of the killed node while they are away. */
const COMMANDED = 10;

interface UpJson {
  mqtt: string;
  credential: string;
  parts: { name: string; pid: number | null }[];
  nodes: { id: string; mqtt: string; api: string }[];
}

/** A virtual device with counters of its own, so that the test knows which devices a node's death cut off. */
interface SimDevice {
  readonly id: string;
  readonly device: VirtualDevice;
  readonly counters: DeviceCounters;
}

const root = tmpDir('edgeward-cluster-fleet-');
chmodSync(root, 0o711); // as root, PostgreSQL runs as the postgres user, which must enter the folder
const dir = join(root, 'c');
let up: UpJson;
let layout: ClusterLayout;
let plan: ClusterPlan;
let seed: string;
let ca: Buffer;
let credential: string;
let sql: pg.Client | undefined;
const apis = new Map<string, ApiClient>();
const fleet: SimDevice[] = [];
let spare: SimDevice | undefined;
/** The node SIGKILLed. */
let victimId: string | undefined;
/** Samples acknowledged, and samples sent again (after a reconnect), over every virtual device. */
const tally = { acked: 0, resent: 0 };

/** The HTTPS port of a node (its own, not HAProxy's). */
const portOf = (nodeId: string) => Number(new URL(up.nodes.find((n) => n.id === nodeId)!.api).port);
/** The operator API of a node, as the cluster's admin operator. */
const apiOf = (nodeId: string) => {
  let api = apis.get(nodeId);
  if (!api) {
    api = apiClientFor(seed, portOf(nodeId), { credential });
    apis.set(nodeId, api);
  }
  return api;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET on a node's own HTTPS port; undefined when it does not answer. */
const nodeGet = (nodeId: string, path: string) =>
  rawRequest(portOf(nodeId), ca, { path, timeoutMs: 2000 }).catch(() => undefined);

/** Devices connected to a node, from its /healthz (-1 when it does not answer). */
async function connectedOn(nodeId: string): Promise<number> {
  const r = await nodeGet(nodeId, '/healthz');
  return r?.status === 200 ? Number(r.json?.connected) : -1;
}

/** A counter summed over its series and over the nodes, from their /metrics. */
async function metricSum(nodes: readonly { id: string }[], name: string): Promise<number> {
  let n = 0;
  for (const node of nodes) {
    const text = (await nodeGet(node.id, '/metrics'))?.text ?? '';
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'gm'))) n += Number(m[1]);
  }
  return n;
}
const redisReconnects = (nodes: readonly { id: string }[]) => metricSum(nodes, 'edgeward_redis_reconnects_total');

/** A simulator virtual device (the real agent, in memory) on `server`, trusting the cluster's admin operator. */
async function simDevice(id: string, index: number, server: string): Promise<SimDevice> {
  const folder = join(simDir(seed), id);
  const counters = newCounters();
  const template = parseAgentConfig({
    server,
    deviceId: id,
    cert: 'unused.crt',
    key: 'unused.key',
    ca: 'unused.ca',
    stateDir: '/nonexistent/cluster-fleet',
    telemetryIntervalSeconds: 1,
    reconnect: { minSeconds: 0.5, maxSeconds: 2 },
  });
  const operator = publicKeyToPem(parsePrivateKeyPem(credential).publicKey);
  // No firmware is offered in this test.
  const gate: FirmwareGate = { installedSequence: 0, offer: async () => 'ERROR: no firmware in this test' };
  const device = await createVirtualDevice({
    id,
    seed: index + 1,
    tls: { key: readFileSync(join(folder, 'device.key')), cert: readFileSync(join(folder, 'device.crt')), ca },
    seal: sealChannel(
      parseSealSecretKeyPem(readFileSync(join(folder, SEAL_KEY_FILE))),
      parseSealPublicKeyPem(readFileSync(join(folder, BACKEND_KEY_FILE))),
    ),
    template,
    keyring: createKeyring([{ name: 'cluster-admin', publicKey: operator, allow: ['*'] }]),
    gate,
    counters,
    sink: { made() {}, settled() {}, acked: () => void tally.acked++, resent: (n) => void (tally.resent += n) },
    log: silentLogger,
  });
  return { id, device, counters };
}

/** One sample more from every device, now: it goes out at once, on top of the regular ones. */
const burst = () => {
  for (const d of fleet) d.device.agent.sampleNow().catch(() => {});
};

const allConnected = () => fleet.length === FLEET && fleet.every((d) => d.counters.connected === 1);

/** Signs a set-relay command for the device and queues it through `nodeId`'s operator API; returns its id. */
async function queueCommand(nodeId: string, deviceId: string): Promise<string> {
  const api = apiOf(nodeId);
  const { counter } = await api.call<{ counter: number }>('POST', '/api/v1/commands/counter');
  const body = newCommandBody({ deviceId, command: 'set-relay', params: { channel: 1, state: 'on' }, counter });
  const envelope = signCommand(body, parsePrivateKeyPem(credential).secretKey);
  await api.call('POST', `/api/v1/devices/${deviceId}/commands`, { envelope: envelope.toString('base64') });
  return body.id;
}

const commandsDone = (ids: string[], what: string) =>
  waitFor(
    async () =>
      (await sql!.query(`SELECT 1 FROM commands WHERE id = ANY($1) AND status = 'done'`, [ids])).rowCount ===
      ids.length,
    `${what}: acknowledged done in PostgreSQL`,
    30_000,
    200,
  );

/**
 * Every sample the fleet made so far is acknowledged (a PUBACK only after the commit), then read in PostgreSQL:
 * each device's sequences 1 … its cutoff are all there, each once (sequences start at 1: a count equal to the
 * cutoff with no duplicate leaves no hole).
 */
async function assertAckedStoredOnce(what: string): Promise<void> {
  for (const d of fleet) d.device.tally.endWindow();
  await waitFor(
    () => fleet.every((d) => d.device.tally.pending() === 0),
    `${what}: every sample made so far acknowledged`,
    30_000,
    100,
  );
  const cutoffs = fleet.map((d) => d.device.tally.cutoff!);
  const { rows } = await sql!.query<{ id: string; n: number; uniq: number }>(
    `SELECT c.id, count(t.seq)::int AS n, count(DISTINCT t.seq)::int AS uniq
       FROM unnest($1::text[], $2::text[], $3::bigint[]) AS c(id, stream, cutoff)
       LEFT JOIN telemetry t ON t.device_id = c.id AND t.stream = c.stream AND t.seq <= c.cutoff
      GROUP BY c.id`,
    [fleet.map((d) => d.id), fleet.map((d) => d.device.tally.stream), cutoffs],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const wrong = fleet.filter((d, i) => {
    const r = byId.get(d.id);
    return r === undefined || r.n !== cutoffs[i] || r.uniq !== r.n;
  });
  assert.equal(
    wrong.map((d) => `${d.id}: ${JSON.stringify(byId.get(d.id))} of ${d.device.tally.cutoff}`),
    [],
    `${what}: acknowledged samples missing or stored twice`,
  );
  const dropped = fleet.reduce((n, d) => n + d.device.agent.stats().dropped, 0);
  assert.is(dropped, 0, 'no device dropped a sample from its outbox');
  const acknowledged = cutoffs.reduce((a, b) => a + b, 0);
  console.log(`  ${what}: ${acknowledged} samples acknowledged, each stored once; ${tally.resent} resent so far`);
}

test.before(async () => {
  const r = await fleetCli(
    ['cluster', 'up', '--nodes', '3', '--data', dir, '--port', '0', '--devices', String(FLEET + 1), '--json'],
    { timeoutMs: 180_000 },
  );
  assert.is(r.code, 0, r.output);
  up = JSON.parse(r.stdout) as UpJson;
  layout = clusterLayout(dir);
  plan = requirePlan(layout);
  seed = layout.seed;
  ca = readFileSync(join(seed, 'pki', 'ca.crt'));
  credential = readFileSync(up.credential, 'utf8');
  sql = new pg.Client({ connectionString: postgresUrl(layout, plan) });
  await sql.connect();
});

test.after(async () => {
  await Promise.all([...fleet, ...(spare ? [spare] : [])].map((d) => d.device.close().catch(() => {})));
  for (const api of apis.values()) api.close();
  await sql?.end();
  const r = await fleetCli(['cluster', 'down', '--data', dir]);
  if (r.code !== 0) console.log(r.output);
});

test('a device on node A gets a command sent through node B', async () => {
  const [a, b] = up.nodes;
  spare = await simDevice(SPARE, FLEET, a!.mqtt);
  await waitFor(() => spare!.counters.connected === 1, `${SPARE} connected to ${a!.id}`, 30_000);
  const id = await queueCommand(b!.id, SPARE);
  await commandsDone([id], `the command through ${b!.id}`);
  assert.ok(
    Number((await sql!.query(`SELECT count(*) AS n FROM command_acks WHERE cmd_id = $1`, [id])).rows[0]!.n) >= 1,
    'its acks are recorded',
  );
  assert.ok((spare.counters.commandAcks.done ?? 0) >= 1, 'the device acknowledged it done');
});

test('revoking the device on node C drops its session on node A', async () => {
  const c = up.nodes[2]!;
  const api = apiOf(c.id);
  await api.call('GET', '/api/v1/devices?limit=1'); // its token obtained before the clock starts
  const before = spare!.counters.disconnects;
  const started = Date.now();
  const answer = await api.call<{ revoked: boolean }>('POST', `/api/v1/devices/${SPARE}/revoke`);
  const answered = Date.now() - started;
  assert.ok(answer.revoked);
  // The bound is generous (tests do not assert timings); the time measured is printed.
  await waitFor(() => spare!.counters.disconnects > before, `${SPARE}'s session on node A dropped`, 10_000, 5);
  console.log(
    `  revocation through ${c.id} (answered in ${answered} ms) dropped the session on ${up.nodes[0]!.id} ` +
      `${Date.now() - started} ms after the request`,
  );
  await spare!.device.close();
  spare = undefined;
});

test(`${FLEET} simulated devices send telemetry through HAProxy, spread over the three nodes`, async () => {
  // A ramp that waits on the handshakes under way, as the simulator's pools do.
  for (const [i, id] of FLEET_IDS.entries()) {
    while (fleet.reduce((n, d) => n + d.counters.connecting, 0) >= 48) await sleep(20);
    fleet.push(await simDevice(id, i, up.mqtt));
  }
  await waitFor(allConnected, `all ${FLEET} devices connected`, 60_000, 100);
  const spread = await Promise.all(up.nodes.map((n) => connectedOn(n.id)));
  console.log(`  devices per node: ${up.nodes.map((n, i) => `${n.id} ${spread[i]}`).join(', ')}`);
  assert.is(
    spread.reduce((a, b) => a + b, 0),
    FLEET,
  );
  assert.ok(
    spread.every((n) => n > 0),
    'every node holds devices',
  );
  await sleep(2000);
  await assertAckedStoredOnce('before the kill');
});

test('SIGKILL of the busiest node: its devices return through HAProxy, commands queued meanwhile arrive', async () => {
  const spread = await Promise.all(up.nodes.map(async (n) => ({ id: n.id, connected: await connectedOn(n.id) })));
  const victim = spread.reduce((m, n) => (n.connected > m.connected ? n : m));
  victimId = victim.id;
  const survivor = up.nodes.find((n) => n.id !== victim.id)!;
  const disconnects = new Map(fleet.map((d) => [d.id, d.counters.disconnects]));
  const cut = () => fleet.filter((d) => d.counters.disconnects > disconnects.get(d.id)!);
  const pid = up.parts.find((p) => p.name === victim.id)!.pid!;
  // Killed while samples are in flight: one more from every device, then SIGKILL as they reach the nodes.
  burst();
  await sleep(30);
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitFor(() => cut().length >= victim.connected, `the ${victim.connected} devices of ${victim.id} cut off`);
  const away = cut();
  assert.is(away.length, victim.connected, `only ${victim.id}'s devices were cut off`);
  // Right after the kill, while they are away (or already back on another node): commands through a survivor.
  const commanded = away.slice(0, COMMANDED);
  const ids: string[] = [];
  for (const d of commanded) ids.push(await queueCommand(survivor.id, d.id));
  await waitFor(allConnected, `all ${FLEET} devices connected again`, 60_000, 100);
  console.log(`  ${away.length} devices of ${victim.id} reconnected through HAProxy in ${Date.now() - killedAt} ms`);
  const spreadAfter = await Promise.all(up.nodes.map((n) => connectedOn(n.id)));
  console.log(`  devices per node after: ${up.nodes.map((n, i) => `${n.id} ${spreadAfter[i]}`).join(', ')}`);
  assert.is(spreadAfter[up.nodes.findIndex((n) => n.id === victim.id)], -1, `${victim.id} is gone`);
  assert.is(
    spreadAfter.filter((n) => n > 0).reduce((a, b) => a + b, 0),
    FLEET,
    'the survivors hold every device',
  );
  await commandsDone(ids, `the ${COMMANDED} commands queued for ${victim.id}'s devices`);
  for (const d of commanded) assert.ok((d.counters.commandAcks.done ?? 0) >= 1, `${d.id} acknowledged done`);
  const acks = await sql!.query<{ n: string }>(
    `SELECT count(DISTINCT cmd_id) AS n FROM command_acks WHERE cmd_id = ANY($1) AND status = 'done'`,
    [ids],
  );
  assert.is(Number(acks.rows[0]!.n), COMMANDED);
  await assertAckedStoredOnce('after the kill');
  const survivors = up.nodes.filter((n) => n.id !== victim.id);
  const duplicates = await metricSum(survivors, 'edgeward_ingest_duplicates_total');
  console.log(`  the survivors acknowledged ${duplicates} samples sent again that were stored already`);
  const online = await sql!.query<{ n: string }>(
    `SELECT count(*) AS n FROM devices WHERE id = ANY($1) AND online = 1`,
    [FLEET_IDS],
  );
  assert.is(Number(online.rows[0]!.n), FLEET, 'every device online in the store');
});

test('restarting Redis while the devices send loses no acknowledged sample; commands still reach devices', async () => {
  const disconnects = () => fleet.reduce((n, d) => n + d.counters.disconnects, 0);
  const cutBefore = disconnects();
  const survivors = up.nodes.filter((n) => n.id !== victimId);
  const reconnectsBefore = await redisReconnects(survivors);
  burst();
  await stopRedis(layout, plan);
  await waitFor(
    async () => (await nodeGet(survivors[0]!.id, '/readyz'))?.status === 503,
    'a node to report Redis not ready',
  );
  await startRedis(layout, plan, findClusterBinaries().redisServer);
  const ackedAtRestart = tally.acked;
  await waitFor(() => tally.acked > ackedAtRestart + FLEET, 'samples acknowledged after the restart', 30_000, 100);
  await waitFor(allConnected, `all ${FLEET} devices connected after the restart`, 60_000, 100);
  console.log(`  ${disconnects() - cutBefore} device connections were cut while Redis restarted`);
  assert.ok((await redisReconnects(survivors)) > reconnectsBefore, 'the nodes reconnected to Redis');
  await assertAckedStoredOnce('after the Redis restart');
  // The bus and the routing work again: a command through one node reaches a device wherever it is.
  const node = up.nodes.find((n) => n.id !== victimId)!;
  const d = fleet[0]!;
  await commandsDone([await queueCommand(node.id, d.id)], `a command for ${d.id} after the restart`);
});

test.run();
