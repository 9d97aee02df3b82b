// The local cluster's fleet server nodes: `fleet serve --cluster` children of this same CLI, each on its own
// ports and data folder, told the secrets (Redis and PostgreSQL addresses) through their environment.
import { readFileSync } from 'node:fs';
import { ensurePrivateDir, writeFileSafe } from '../../../../shared/src/index.js';
import type { FleetConfig } from '../../config.js';
import { fleetPaths } from '../../fleet/data-dir.js';
import { HAPROXY_SOURCE } from './haproxy-config.js';
import type { ClusterLayout, ClusterPlan, NodePlan } from './layout.js';
import { postgresUrl } from './postgres.js';
import { nodeReadyz } from './probes.js';
import { spawnPart, stopPart } from './processes.js';
import { selfCommand } from './self.js';
import { redisUrl } from './redis.js';
import { waitHealthy } from './wait.js';

export function mqttUrl(host: string, port: number): string {
  return `mqtts://${host}:${port}`;
}

/**
 * V8 flags of the local cluster's nodes. Every part of a local cluster shares one host's cores, and under load they
 * are all busy: a node's major garbage collection then stalled its event loop for 0.2-0.6 s, finishing on the main
 * thread the marking that its concurrent marker threads, waiting for a core, had not done. Without concurrent
 * marking the marking runs in small incremental steps between tasks on the main thread (docs/cluster.md, "25,000
 * devices held"). A node on a host of its own keeps V8's default.
 */
export const LOCAL_NODE_V8_FLAGS = ['--no-concurrent-marking'] as const;

/**
 * Writes the configuration every node runs with: `up --config`'s (validated, its defaults filled in), with HAProxy's
 * source address added to proxyProtocol.trustedProxies. Rewritten on every `up`.
 */
export function writeNodeConfig(layout: ClusterLayout, config: FleetConfig): void {
  const trusted = [...new Set([...config.proxyProtocol.trustedProxies, HAPROXY_SOURCE])];
  ensurePrivateDir(layout.nodes);
  writeFileSafe(
    layout.nodeConfig,
    `${JSON.stringify({ ...config, proxyProtocol: { trustedProxies: trusted } }, null, 2)}\n`,
    { mode: 0o600, overwrite: true },
  );
}

export function startNode(layout: ClusterLayout, plan: ClusterPlan, node: NodePlan): number {
  const self = selfCommand();
  const args = [
    ...LOCAL_NODE_V8_FLAGS,
    ...self.prefix,
    'serve',
    '--data',
    layout.nodeDir(node.id),
    '--host',
    plan.host,
    '--mqtt-port',
    String(node.mqttPort),
    '--http-port',
    String(node.httpPort),
    '--download-port',
    String(node.downloadPort),
    // Enrolling devices are told the balancer's address, not this node's.
    '--public-mqtt-url',
    mqttUrl(plan.host, plan.mqttPort),
    '--cluster',
    '--node-id',
    node.id,
    '--config',
    layout.nodeConfig,
  ];
  // Passwords go through the environment: a command line is readable by every local user (/proc/PID/cmdline).
  const env = {
    ...process.env,
    EDGEWARD_REDIS_URL: redisUrl(layout, plan),
    EDGEWARD_POSTGRES_URL: postgresUrl(layout, plan),
  };
  return spawnPart(layout, { part: node.id, command: self.command, args, env });
}

export function fleetCa(layout: ClusterLayout): Buffer {
  return readFileSync(fleetPaths(layout.seed).caCert);
}

export async function nodeHealthy(layout: ClusterLayout, plan: ClusterPlan, node: NodePlan): Promise<boolean> {
  return (await nodeReadyz(plan.host, node.httpPort, fleetCa(layout))) === 200;
}

/** Started from source on a small, busy machine a node takes several seconds; a minute is the bound. */
export const waitNode = (layout: ClusterLayout, plan: ClusterPlan, node: NodePlan, pid: number) =>
  waitHealthy(layout, node.id, pid, () => nodeHealthy(layout, plan, node), 60_000);

export const stopNode = (layout: ClusterLayout, node: NodePlan) => stopPart(layout, node.id, 'SIGTERM', 15_000);
