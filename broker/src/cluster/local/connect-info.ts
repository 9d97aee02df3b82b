// Where to connect to a local cluster, and the commands that work on it: what `up` prints (and puts in its JSON).
import { join } from 'node:path';
import { fleetPaths } from '../../fleet/data-dir.js';
import type { ClusterLayout, ClusterPlan } from './layout.js';
import { mqttUrl } from './nodes.js';
import { operatorKeyPath, SIM_PREFIX } from './seed.js';

export interface ConnectInfo {
  readonly mqtt: string;
  readonly api: string;
  readonly ca: string;
  readonly credential: string;
  /** The fleet folder for `fleet device add --data` and `fleet-sim run --data`. */
  readonly seed: string;
  readonly nodes: readonly { id: string; mqtt: string; api: string }[];
  readonly commands: Readonly<Record<'status' | 'deviceAdd' | 'restart' | 'simulator' | 'api' | 'down', string>>;
}

export function connectInfo(layout: ClusterLayout, plan: ClusterPlan, dir: string, devices: number): ConnectInfo {
  const api = `https://${plan.host}:${plan.apiPort}`;
  const ca = fleetPaths(layout.seed).caCert;
  const credential = operatorKeyPath(layout);
  const seedArg = join(dir, 'seed');
  return {
    mqtt: mqttUrl(plan.host, plan.mqttPort),
    api,
    ca,
    credential,
    seed: layout.seed,
    nodes: plan.nodes.map((n) => ({
      id: n.id,
      mqtt: mqttUrl(plan.host, n.mqttPort),
      api: `https://${plan.host}:${n.httpPort}`,
    })),
    commands: {
      status: `fleet cluster status --data ${dir}`,
      deviceAdd: `fleet device add gw-001 --server ${api} --ca ${ca} --credential ${credential} --out ./gw-001`,
      restart: `fleet cluster down --data ${dir} && fleet cluster up --data ${dir}`,
      simulator:
        `fleet-sim run --server ${mqttUrl(plan.host, plan.mqttPort)} --data ${seedArg} --server-api ${api} ` +
        `--credential ${credential} --prefix ${SIM_PREFIX} --devices ${Math.max(devices, 1)} --scenario steady`,
      api: `fleet device list --server ${api} --ca ${ca} --credential ${credential}`,
      down: `fleet cluster down --data ${dir}`,
    },
  };
}
