// `fleet cluster up` and `down`: the parts started in order (redis, postgres, the nodes, haproxy), each waited for
// until healthy; a failure stops what this call had started. `down` stops them in the reverse order; idempotent.
import { ensurePrivateDir } from '../../../../shared/src/index.js';
import { loadFleetConfig } from '../../config.js';
import { FleetError } from '../../errors.js';
import { findClusterBinaries } from './binaries.js';
import { startHaproxy, stopHaproxy } from './haproxy.js';
import { type ClusterLayout, type ClusterPlan, clusterLayout, readPlan, requirePlan, writePlan } from './layout.js';
import { copySeedIntoNodeFolders } from './node-folders.js';
import { startNode, stopNode, waitNode, writeNodeConfig } from './nodes.js';
import { startPostgres, stopPostgres } from './postgres.js';
import { freePort } from './probes.js';
import { runningPid } from './processes.js';
import { startRedis, stopRedis } from './redis.js';
import { prepareSeed } from './seed.js';
import { registerSeedInStore } from './seed-store.js';

export interface UpOptions {
  readonly dir: string;
  /** Default: the folder's cluster's, or 3 for a new one. */
  readonly nodes?: number;
  readonly host: string;
  /** HAProxy's MQTT and API fronts (default 8883 and 8443, or the folder's cluster's); 0 picks free ports. */
  readonly mqttPort?: number;
  readonly apiPort?: number;
  /** Simulator identities to issue into the seed folder (sim-00001 …). */
  readonly devices: number;
  /** A fleet server configuration (JSON, docs/fleet-config.md) every node is started with (`fleet serve --config`). */
  readonly nodeConfig?: string;
  readonly progress?: (line: string) => void;
}

export interface UpResult {
  readonly layout: ClusterLayout;
  readonly plan: ClusterPlan;
  /** Everything was running already: nothing was started. */
  readonly alreadyRunning: boolean;
  /** Nodes whose folder was made afresh from the seed (interim, node-folders.ts). */
  readonly reseeded: readonly string[];
}

/** Every part's name, in start order. */
export const partNames = (plan: ClusterPlan) => ['redis', 'postgres', ...plan.nodes.map((n) => n.id), 'haproxy'];

export const DEFAULT_NODES = 3;

async function newPlan(o: UpOptions): Promise<ClusterPlan> {
  const wantMqtt = o.mqttPort ?? 8883;
  const wantApi = o.apiPort ?? (wantMqtt === 0 ? 0 : 8443);
  const taken = new Set<number>([wantMqtt, wantApi]);
  const pick = async (): Promise<number> => {
    for (;;) {
      const port = await freePort(o.host);
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  const front = async (port: number) => (port === 0 ? pick() : port);
  const mqttPort = await front(wantMqtt);
  const apiPort = await front(wantApi);
  const nodes = [];
  for (let k = 1; k <= (o.nodes ?? DEFAULT_NODES); k++) {
    nodes.push({ id: `node-${k}`, mqttPort: await pick(), httpPort: await pick(), downloadPort: await pick() });
  }
  return { version: 1, host: o.host, redisPort: await pick(), postgresPort: await pick(), mqttPort, apiPort, nodes };
}

function checkSamePlan(plan: ClusterPlan, o: UpOptions, layout: ClusterLayout): void {
  const differs = (what: string, was: unknown, now: unknown) =>
    new FleetError(
      'FLEET_CLUSTER_STATE',
      `${layout.root} holds a cluster made with ${what} ${was}, not ${now}; keep it, or use another --data folder`,
    );
  // Flags left out mean "as before"; port 0 asked for free ports, which the plan holds.
  const given = (v: number | undefined, was: number) => v !== undefined && v !== 0 && v !== was;
  if (o.nodes !== undefined && plan.nodes.length !== o.nodes) throw differs('--nodes', plan.nodes.length, o.nodes);
  if (plan.host !== o.host) throw differs('--host', plan.host, o.host);
  if (given(o.mqttPort, plan.mqttPort)) throw differs('--port', plan.mqttPort, o.mqttPort);
  if (given(o.apiPort, plan.apiPort)) throw differs('--api-port', plan.apiPort, o.apiPort);
}

export async function clusterUp(o: UpOptions): Promise<UpResult> {
  // Read as every node will (FLEET_CONFIG_INVALID, each error listed), before anything starts: a bad file would
  // otherwise show only as nodes that never become ready.
  const nodeConfig = loadFleetConfig(o.nodeConfig);
  const bins = findClusterBinaries();
  const layout = clusterLayout(o.dir);
  const say = o.progress ?? (() => {});
  const existing = readPlan(layout);
  if (existing) {
    checkSamePlan(existing, o, layout);
    const running = partNames(existing).filter((p) => runningPid(layout, p) !== undefined);
    if (running.length === partNames(existing).length)
      return { layout, plan: existing, alreadyRunning: true, reseeded: [] };
    if (running.length > 0) {
      throw new FleetError(
        'FLEET_CLUSTER_STATE',
        `the cluster in ${layout.root} is partly running (${running.join(', ')}); ` +
          `stop it with \`fleet cluster down --data ${o.dir}\`, then start it again`,
      );
    }
  }
  const plan = existing ?? (await newPlan(o));
  ensurePrivateDir(layout.root);
  writePlan(layout, plan);
  await prepareSeed(layout, plan, o.devices);
  const started: string[] = [];
  try {
    const redisPid = await startRedis(layout, plan, bins.redisServer);
    started.push('redis');
    say(`redis     ready  127.0.0.1:${plan.redisPort}  pid ${redisPid}`);
    const pgPid = await startPostgres(layout, plan, bins);
    started.push('postgres');
    say(`postgres  ready  127.0.0.1:${plan.postgresPort}  pid ${pgPid}`);
    if (await registerSeedInStore(layout, plan)) say("postgres  the seed's devices registered in the store");
    const reseeded = await copySeedIntoNodeFolders(
      layout,
      plan.nodes.map((n) => n.id),
    );
    writeNodeConfig(layout, nodeConfig);
    await Promise.all(
      plan.nodes.map(async (n) => {
        const pid = startNode(layout, plan, n);
        started.push(n.id);
        await waitNode(layout, plan, n, pid);
        say(
          `${n.id.padEnd(9)} ready  mqtts://${plan.host}:${n.mqttPort}  https://${plan.host}:${n.httpPort}  pid ${pid}`,
        );
      }),
    );
    const haPid = await startHaproxy(layout, plan, bins.haproxy);
    started.push('haproxy');
    say(`haproxy   ready  mqtts://${plan.host}:${plan.mqttPort}  https://${plan.host}:${plan.apiPort}  pid ${haPid}`);
    return { layout, plan, alreadyRunning: false, reseeded };
  } catch (err) {
    say(`stopping what was started (${started.join(', ') || 'nothing'})`);
    // A part whose start failed may still run (started but never healthy): stop it too.
    await stopParts(layout, plan, partNames(plan));
    throw err;
  }
}

export type StopOutcome = Awaited<ReturnType<typeof stopHaproxy>>;

/** Stops the named parts, HAProxy first (no new connections), Redis last; each bounded, stragglers killed. */
async function stopParts(layout: ClusterLayout, plan: ClusterPlan, names: readonly string[]) {
  const outcome: Record<string, StopOutcome> = {};
  const want = new Set(names);
  if (want.has('haproxy')) outcome.haproxy = await stopHaproxy(layout);
  await Promise.all(
    plan.nodes
      .filter((n) => want.has(n.id))
      .map(async (n) => {
        outcome[n.id] = await stopNode(layout, n);
      }),
  );
  if (want.has('postgres')) outcome.postgres = await stopPostgres(layout);
  if (want.has('redis')) outcome.redis = await stopRedis(layout, plan);
  return outcome;
}

/** Stops every part of the cluster in DIR; parts not running are reported so, which makes it idempotent. */
export async function clusterDown(dir: string): Promise<Record<string, StopOutcome>> {
  const layout = clusterLayout(dir);
  const plan = requirePlan(layout);
  return stopParts(layout, plan, partNames(plan));
}
