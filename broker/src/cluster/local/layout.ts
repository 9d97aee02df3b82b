// Where a local cluster keeps everything under its --data folder, and its plan (cluster.json): the ports of
// every part, chosen on the first `up` and kept, so the addresses it printed stay true across restarts.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileSafe } from '../../../../shared/src/index.js';
import { FleetError } from '../../errors.js';

export interface NodePlan {
  readonly id: string;
  readonly mqttPort: number;
  readonly httpPort: number;
  readonly downloadPort: number;
}

export interface ClusterPlan {
  readonly version: 1;
  readonly host: string;
  readonly redisPort: number;
  readonly postgresPort: number;
  /** HAProxy's two fronts: MQTT for devices, HTTPS for operators (both TLS passthrough). */
  readonly mqttPort: number;
  readonly apiPort: number;
  readonly nodes: readonly NodePlan[];
}

export interface ClusterLayout {
  readonly root: string;
  readonly plan: string;
  /** The fleet folder made by `fleet pki init`: devices are added there, and the simulator reads it. */
  readonly seed: string;
  readonly nodes: string;
  nodeDir(id: string): string;
  /** The configuration every node runs with: `up --config`'s, with HAProxy trusted for the PROXY protocol. */
  readonly nodeConfig: string;
  readonly redis: string;
  readonly redisConf: string;
  readonly redisPassword: string;
  readonly postgres: string;
  readonly postgresData: string;
  readonly postgresPassword: string;
  readonly haproxy: string;
  readonly haproxyCfg: string;
  readonly run: string;
  readonly statsSocket: string;
  pidFile(part: string): string;
  readonly logs: string;
  logFile(part: string): string;
}

export function clusterLayout(dir: string): ClusterLayout {
  const root = resolve(dir);
  const run = join(root, 'run');
  const logs = join(root, 'logs');
  return {
    root,
    plan: join(root, 'cluster.json'),
    seed: join(root, 'seed'),
    nodes: join(root, 'nodes'),
    nodeDir: (id) => join(root, 'nodes', id),
    nodeConfig: join(root, 'nodes', 'config.json'),
    redis: join(root, 'redis'),
    redisConf: join(root, 'redis', 'redis.conf'),
    redisPassword: join(root, 'redis', 'password'),
    postgres: join(root, 'postgres'),
    postgresData: join(root, 'postgres', 'data'),
    postgresPassword: join(root, 'postgres', 'password'),
    haproxy: join(root, 'haproxy'),
    haproxyCfg: join(root, 'haproxy', 'haproxy.cfg'),
    run,
    statsSocket: join(run, 'haproxy.sock'),
    pidFile: (part) => join(run, `${part}.pid`),
    logs,
    logFile: (part) => join(logs, `${part}.log`),
  };
}

const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536;

/** cluster.json is read back as hostile input: a wrong shape is an error, never a half-read plan. */
export function readPlan(layout: ClusterLayout): ClusterPlan | undefined {
  if (!existsSync(layout.plan)) return undefined;
  let plan: ClusterPlan;
  try {
    plan = JSON.parse(readFileSync(layout.plan, 'utf8')) as ClusterPlan;
  } catch (err) {
    throw new FleetError('FLEET_CLUSTER_STATE', `${layout.plan} is not JSON; remove the folder to start afresh`, {
      cause: err,
    });
  }
  const nodesOk =
    Array.isArray(plan?.nodes) &&
    plan.nodes.length >= 1 &&
    plan.nodes.length <= 16 &&
    plan.nodes.every(
      (n) => /^node-\d{1,2}$/.test(n?.id) && isPort(n.mqttPort) && isPort(n.httpPort) && isPort(n.downloadPort),
    );
  const ok =
    plan?.version === 1 &&
    typeof plan.host === 'string' &&
    [plan.redisPort, plan.postgresPort, plan.mqttPort, plan.apiPort].every(isPort) &&
    nodesOk;
  if (!ok) throw new FleetError('FLEET_CLUSTER_STATE', `${layout.plan} is not a local cluster plan`);
  return plan;
}

export function writePlan(layout: ClusterLayout, plan: ClusterPlan): void {
  writeFileSafe(layout.plan, `${JSON.stringify(plan, null, 2)}\n`, { overwrite: true });
}

/** The plan of a folder that must already hold a cluster (status, down). */
export function requirePlan(layout: ClusterLayout): ClusterPlan {
  const plan = readPlan(layout);
  if (!plan) {
    throw new FleetError(
      'FLEET_CLUSTER_STATE',
      `${layout.root} holds no local cluster (no cluster.json); start one with \`fleet cluster up --data DIR\``,
    );
  }
  return plan;
}
