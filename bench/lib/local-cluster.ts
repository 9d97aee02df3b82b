// A 3-node local cluster for benchmarks (`fleet cluster up`, broker/src/cluster/local) in a temporary folder, made
// from a seed kept between runs (its simulator identities take minutes to issue), and what a bench reads from it:
// the nodes' addresses, pids and resident memory, the shared store's address, a node's connected devices.
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterDown, clusterLayout, requirePlan } from '../../broker/src/cluster/local/index.js';
import { postgresUrl } from '../../broker/src/cluster/local/postgres.js';
import { readPid } from '../../broker/src/cluster/local/processes.js';
import { root, runToEnd } from './procs.js';

const fleetJs = () => `${root}dist/fleet.js`;

async function fleet(args: string[]): Promise<string> {
  const r = await runToEnd(process.execPath, [fleetJs(), ...args]);
  if (r.code !== 0) throw new Error(`fleet ${args.join(' ')} failed (exit ${r.code})`);
  return r.stdout;
}

/**
 * The seed kept in `cache`/seed: a fleet (`fleet pki init`) with `devices` simulator identities sim-00001 … in
 * seed/sim (issued once: a later run issues only the ones missing). The simulator runs on this folder.
 */
export async function ensureSeed(cache: string, devices: number): Promise<string> {
  const seed = join(cache, 'seed');
  mkdirSync(cache, { recursive: true });
  if (!existsSync(join(seed, 'pki', 'ca.crt'))) await fleet(['pki', 'init', '--data', seed]);
  const have = existsSync(join(seed, 'sim')) ? readdirSync(join(seed, 'sim')).length : 0;
  if (have < devices) {
    console.error(
      `issuing ${devices - have} simulator identities into ${seed}/sim (once; 25,000 took 5 minutes here) …`,
    );
    await fleet([
      'device',
      'add',
      '--bulk',
      String(devices),
      '--prefix',
      'sim-',
      '--data',
      seed,
      '--out',
      `${seed}/sim`,
    ]);
  }
  return seed;
}

/** A copy of the seed's fleet (its PKI and database, not the identities) into `dir`: a cluster's or a node's. */
export function copyFleet(seed: string, dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(seed))
    if (name !== 'sim') cpSync(join(seed, name), join(dir, name), { recursive: true });
}

export interface NodeInfo {
  readonly id: string;
  readonly mqtt: string;
  readonly api: string;
}

export interface LocalCluster {
  readonly dir: string;
  /** HAProxy's MQTT front. */
  readonly front: string;
  readonly nodes: readonly NodeInfo[];
  readonly ca: Buffer;
  readonly postgresUrl: string;
  /** The pid of a part (node-1, redis, haproxy…) as its pid file says. */
  pid(part: string): number | undefined;
  /** Sum of the nodes' resident memory now (bytes). */
  nodesRss(): number;
  /** Devices connected to a node, from its /healthz (-1: no answer). */
  connectedOn(node: NodeInfo): Promise<number>;
  /** `fleet cluster down`, then the folder removed. */
  destroy(): Promise<void>;
}

export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function healthz(api: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${api}/healthz`, { ca, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => {
        try {
          resolve((JSON.parse(body) as { connected: number }).connected);
        } catch {
          resolve(-1);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(-1));
    req.end();
  });
}

/**
 * `fleet cluster up --nodes 3` in a new temporary folder whose seed is a copy of `seed` (so the nodes and the
 * store know its devices), every node on the fleet server configuration `nodeConfig`.
 */
export async function startLocalCluster(seed: string, nodeConfig: object, nodes = 3): Promise<LocalCluster> {
  const base = mkdtempSync(join(tmpdir(), 'edgeward-bench-cluster-'));
  chmodSync(base, 0o711); // as root, PostgreSQL runs as the postgres user, which must enter the folder
  const dir = join(base, 'c');
  const destroy = async () => {
    if (existsSync(join(dir, 'cluster.json'))) await clusterDown(dir).catch(() => {});
    rmSync(base, { recursive: true, force: true });
  };
  try {
    copyFleet(seed, join(dir, 'seed'));
    const config = join(base, 'node-config.json');
    writeFileSync(config, JSON.stringify(nodeConfig));
    const args = ['cluster', 'up', '--nodes', String(nodes), '--data', dir, '--port', '0', '--config', config];
    const up = JSON.parse(await fleet([...args, '--json'])) as { mqtt: string; ca: string; nodes: NodeInfo[] };
    const layout = clusterLayout(dir);
    const plan = requirePlan(layout);
    const ca = readFileSync(up.ca);
    const pid = (part: string) => readPid(layout, part);
    return {
      dir,
      front: up.mqtt,
      nodes: up.nodes,
      ca,
      postgresUrl: postgresUrl(layout, plan),
      pid,
      nodesRss: () => up.nodes.reduce((n, node) => n + rssOf(pid(node.id)), 0),
      connectedOn: (node) => healthz(node.api, ca),
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}
