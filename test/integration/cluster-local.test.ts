// `fleet cluster up | status | down` through the CLI, on real redis-server, PostgreSQL and HAProxy: a real agent
// connects through HAProxy, the node it is on is killed, HAProxy marks it DOWN and the agent carries on through
// HAProxy on the other node with nothing lost from its outbox; the simulator runs through HAProxy, its new identities
// admitted and what it sent read back from the store through the API; down stops everything, twice.
import { chmodSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import pg from 'pg';
import * as assert from 'uvu/assert';
import { createAgent, parseAgentConfig, type Agent } from '../../agent/src/index.js';
import { BACKEND_KEY_FILE, SEAL_KEY_FILE } from '../../shared/src/index.js';
import { testLogger, waitFor } from '../helpers/fleet.js';
import {
  clusterDown,
  clusterLayout,
  clusterStatus,
  clusterUp,
  operatorKeyPath,
  requirePlan,
} from '../../broker/src/cluster/local/index.js';
import { postgresUrl } from '../../broker/src/cluster/local/postgres.js';
import { portOpen } from '../../broker/src/cluster/local/probes.js';
import { createFirmwareKit } from '../helpers/firmware.js';
import { testWithPeers } from '../helpers/peers.js';
import { fleetCli, runCliSource } from '../helpers/run.js';
import { checkResult } from '../../simulator/src/index.js';
import { tmpDir } from '../helpers/tmp.js';

const test = testWithPeers(
  ['redis-server', 'haproxy', 'initdb', 'postgres'],
  'apt-get install -y redis-server haproxy postgresql',
);

interface Part {
  name: string;
  kind: string;
  pid: number | null;
  ports: Record<string, number>;
  alive: boolean;
  healthy: boolean;
  balancer?: string;
}
interface UpJson {
  mqtt: string;
  ca: string;
  healthy: boolean;
  parts: Part[];
  nodes: { id: string; mqtt: string; api: string }[];
}

const root = tmpDir('edgeward-cluster-');
chmodSync(root, 0o711); // as root, PostgreSQL runs as the postgres user, which must enter the folder
const dir = join(root, 'c');
let up: UpJson;
let agent: Agent | undefined;

async function status(): Promise<{ code: number | null; healthy: boolean; parts: Part[] }> {
  const r = await fleetCli(['cluster', 'status', '--data', dir, '--json']);
  return { code: r.code, ...(JSON.parse(r.stdout) as { healthy: boolean; parts: Part[] }) };
}

/** The same, in this process: a CLI started from source costs seconds on a busy machine, too slow to poll with. */
async function statusHere() {
  const layout = clusterLayout(dir);
  return clusterStatus(layout, requirePlan(layout));
}

/** Running, and not a zombie waiting for its reaper. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Devices connected to a node, from its /healthz. */
function connectedOn(api: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${api}/healthz`, { ca }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve((JSON.parse(body) as { connected: number }).connected));
    });
    req.on('error', () => resolve(-1));
    req.end();
  });
}

test.after(async () => {
  await agent?.close();
  await fleetCli(['cluster', 'down', '--data', dir]);
});

test('up starts redis, postgres, two nodes and haproxy, all healthy', async () => {
  const r = await fleetCli(
    ['cluster', 'up', '--nodes', '2', '--data', dir, '--port', '0', '--devices', '1', '--json'],
    { timeoutMs: 180_000 },
  );
  assert.is(r.code, 0, r.output);
  up = JSON.parse(r.stdout) as UpJson;
  assert.ok(up.healthy, r.stdout);
  assert.equal(up.parts.map((p) => p.name).sort(), ['haproxy', 'node-1', 'node-2', 'postgres', 'redis']);
  const s = await status();
  assert.is(s.code, 0);
  assert.is(s.parts.length, 5);
  assert.ok(
    s.parts.every((p) => p.alive && p.healthy && p.pid !== null),
    JSON.stringify(s.parts),
  );
  // The nodes share this host's cores with every other part: V8 marks on their main thread (nodes.ts).
  for (const node of s.parts.filter((p) => p.name.startsWith('node-'))) {
    const argv = readFileSync(`/proc/${node.pid}/cmdline`, 'utf8').split('\0');
    const at = argv.indexOf('--no-concurrent-marking');
    assert.ok(at > 0 && at < argv.indexOf('serve'), `${node.name}: ${argv.join(' ')}`);
  }
  // A second up on a running cluster starts nothing (in this process: the CLI's start-up is what costs here).
  const again = await clusterUp({ dir, host: '127.0.0.1', devices: 0 });
  assert.is(again.alreadyRunning, true);
});

test('fleet-sim through haproxy: identities it issues are admitted, and what it sent is read back stored', async () => {
  // `up --devices 1` issued sim-00001; the simulator issues the other 3 into the seed, and the cluster's store.
  const json = join(root, 'sim.json');
  const layout = clusterLayout(dir);
  const plan = requirePlan(layout);
  const r = await runCliSource(
    'simulator/src/main.ts',
    [
      'run',
      '--server',
      up.mqtt,
      '--server-api',
      `https://127.0.0.1:${plan.apiPort}`,
      '--credential',
      operatorKeyPath(layout),
      '--data',
      layout.seed,
      '--devices',
      '4',
      '--scenario',
      'steady',
      '--duration',
      '3s',
      '--telemetry-interval',
      '1s',
      '--workers',
      '0',
      '--json',
      json,
    ],
    { timeoutMs: 120_000 },
  );
  assert.is(r.code, 0, r.output);
  const result = checkResult(JSON.parse(readFileSync(json, 'utf8')));
  assert.is(result.connected, 4);
  assert.is(result.lost, 0);
  assert.ok(result.messagesSent > 0);
  // Read back through the API, which on the cluster reads the PostgreSQL store.
  assert.is(result.messagesStored, result.messagesSent);
});

test('a fleet-sim rollout drill on the cluster: published through the API, every device updated', async () => {
  const layout = clusterLayout(dir);
  const plan = requirePlan(layout);
  const api = `https://127.0.0.1:${plan.apiPort}`;
  const kit = createFirmwareKit(tmpDir('edgeward-cluster-firmware-'));
  const access = ['--server', api, '--ca', up.ca, '--credential', operatorKeyPath(layout)];
  const trust = await fleetCli(['trust', 'set', kit.trustFile(), ...access]);
  assert.is(trust.code, 0, trust.output);
  const bundle = kit.bundle({ version: '1.1.0', sequence: 2 }, 16 * 1024, { name: 'drill.ewfw' });
  const json = join(root, 'rollout.json');
  const run = (extra: string[]) =>
    runCliSource(
      'simulator/src/main.ts',
      [
        'run',
        '--server',
        up.mqtt,
        '--server-api',
        api,
        '--credential',
        operatorKeyPath(layout),
        '--data',
        layout.seed,
        '--prefix',
        'ro-',
        '--devices',
        '4',
        '--scenario',
        'rollout',
        '--release',
        bundle.path,
        '--stages',
        '50%,100%',
        '--duration',
        '60s',
        '--workers',
        '0',
        ...extra,
      ],
      { timeoutMs: 120_000 },
    );
  // Through the API the devices' trust anchor must be given: the API does not hand documents out.
  const without = await run([]);
  assert.is(without.code, 1, without.output);
  assert.match(without.output, /needs --trust FILE/);
  const other = await run(['--trust', createFirmwareKit(tmpDir('edgeward-cluster-other-')).trustFile()]);
  assert.is(other.code, 1, other.output);
  assert.match(other.output, /--trust is not the fleet's first trust document/);
  const r = await run(['--trust', kit.trustFile(), '--json', json]);
  assert.is(r.code, 0, r.output);
  const result = checkResult(JSON.parse(readFileSync(json, 'utf8')));
  assert.is(result.rollout?.state, 'completed', JSON.stringify(result.rollout));
  assert.is(result.rollout?.devicesUpdated, 4);
  assert.is(result.rollout?.devicesFailed, 0);
});

test('an agent through haproxy fails over to the other node when its node is killed', async () => {
  const d = join(dir, 'seed', 'sim', 'sim-00001');
  const config = parseAgentConfig({
    server: up.mqtt,
    deviceId: 'sim-00001',
    cert: join(d, 'device.crt'),
    key: join(d, 'device.key'),
    ca: join(d, 'ca.crt'),
    seal: { key: join(d, SEAL_KEY_FILE), backendKey: join(d, BACKEND_KEY_FILE) },
    stateDir: join(root, 'agent-state'),
    telemetryIntervalSeconds: 1,
    reconnect: { minSeconds: 0.1, maxSeconds: 1 },
  });
  agent = await createAgent({ config, log: testLogger() });
  await waitFor(() => agent!.stats().lastAckedSequence >= 2, 'samples acknowledged through haproxy', 30_000);
  // HAProxy sends the agent's own address with the PROXY protocol, from the source address the nodes trust for it:
  // the store records the agent's address (127.0.0.1), not HAProxy's (127.0.3.1).
  const layout = clusterLayout(dir);
  const db = new pg.Client({ connectionString: postgresUrl(layout, requirePlan(layout)) });
  await db.connect();
  try {
    const last = await waitFor(
      async () => (await db.query(`SELECT last_address FROM devices WHERE id = 'sim-00001'`)).rows[0]?.last_address,
      "the agent's address recorded",
    );
    assert.is(last, '127.0.0.1');
  } finally {
    await db.end();
  }
  const ca = readFileSync(up.ca);
  const on = await waitFor(async () => {
    for (const n of up.nodes) if ((await connectedOn(n.api, ca)) > 0) return n;
    return undefined;
  }, 'the node the agent is on');
  const other = up.nodes.find((n) => n.id !== on.id)!;
  const victim = up.parts.find((p) => p.name === on.id)!;
  process.kill(victim.pid!, 'SIGKILL');
  const madeBefore = agent.stats().lastSequence;
  await waitFor(
    async () => {
      const part = (await statusHere()).parts.find((p) => p.name === on.id)!;
      return !part.alive && part.balancer === 'DOWN';
    },
    'haproxy marks the killed node DOWN',
    30_000,
    250,
  );
  const down = await status();
  assert.is(down.code, 1, 'status exits 1 with a node down');
  assert.not.ok(down.healthy);
  const victimNow = down.parts.find((p) => p.name === on.id)!;
  assert.equal([victimNow.alive, victimNow.healthy, victimNow.balancer], [false, false, 'DOWN']);
  assert.ok(down.parts.find((p) => p.name === other.id)!.healthy);
  await waitFor(async () => (await connectedOn(other.api, ca)) > 0, 'the agent on the other node', 30_000);
  await waitFor(
    () => agent!.stats().lastAckedSequence > madeBefore + 1,
    'samples made meanwhile acknowledged by the other node',
    30_000,
  );
  const stats = agent.stats();
  assert.is(stats.dropped, 0, 'nothing dropped from the outbox');
  assert.is(stats.lastSequence, stats.acknowledged + stats.samples, 'every sample acknowledged or waiting');
  // A cluster only partly running is not started over: down first.
  await clusterUp({ dir, host: '127.0.0.1', devices: 0 }).then(
    () => assert.unreachable('up on a partly running cluster'),
    (err: { code?: string; message: string }) => {
      assert.is(err.code, 'FLEET_CLUSTER_STATE');
      assert.match(err.message, /partly running/);
    },
  );
});

test('down stops every part and frees the ports; a second down is fine', async () => {
  await agent?.close();
  agent = undefined;
  const s = await statusHere();
  const r = await fleetCli(['cluster', 'down', '--data', dir]);
  assert.is(r.code, 0, r.output);
  for (const p of s.parts) {
    if (p.pid !== null) assert.not.ok(running(p.pid), `${p.name} still runs`);
    for (const port of Object.values(p.ports)) assert.not.ok(await portOpen('127.0.0.1', port), `${p.name} ${port}`);
  }
  const again = await clusterDown(dir);
  assert.ok(
    Object.values(again).every((how) => how === 'not-running'),
    JSON.stringify(again),
  );
  const after = await statusHere();
  assert.not.ok(after.healthy);
  assert.ok(after.parts.every((p) => !p.alive));
});

test.run();
