// `fleet cluster status`: each part's pid, ports, liveness (pid and ports) and health, and HAProxy's own view of
// each node. The aggregation is a pure function of the probes, so its rules are tested without a cluster.
import { API_BACKEND, type BackendServerState, MQTT_BACKEND } from './haproxy-config.js';
import { haproxyServers } from './haproxy.js';
import type { ClusterLayout, ClusterPlan } from './layout.js';
import { nodeHealthy } from './nodes.js';
import { postgresHealthy } from './postgres.js';
import { portOpen } from './probes.js';
import { runningPid } from './processes.js';
import { redisHealthy } from './redis.js';

export type PartKind = 'node' | 'redis' | 'postgres' | 'haproxy';

/** What was measured of one part. */
export interface PartProbe {
  readonly name: string;
  readonly kind: PartKind;
  readonly pid: number | null;
  readonly ports: Readonly<Record<string, number>>;
  /** Every port accepts connections. */
  readonly portsOpen: boolean;
  /** Its own health check passed: node /readyz 200, Redis PONG, a PostgreSQL query, HAProxy's stats socket. */
  readonly check: boolean;
}

export interface PartStatus {
  readonly name: string;
  readonly kind: PartKind;
  readonly pid: number | null;
  readonly ports: Readonly<Record<string, number>>;
  readonly alive: boolean;
  readonly healthy: boolean;
  /** Nodes: HAProxy's state of the node in the MQTT backend (UP, DOWN, …), "unknown" without HAProxy. */
  readonly balancer?: string;
  /** HAProxy: every backend server's state. */
  readonly servers?: readonly BackendServerState[];
}

export interface ClusterStatus {
  readonly healthy: boolean;
  readonly parts: readonly PartStatus[];
}

/**
 * A part is alive when its process runs and its ports are open. A node is healthy when alive, ready, and (when
 * HAProxy answers) UP in HAProxy's MQTT backend; HAProxy when alive and each backend has a server UP. The cluster
 * is healthy when every part is.
 */
export function aggregateStatus(probes: readonly PartProbe[], servers: readonly BackendServerState[] | undefined) {
  const serverState = (backend: string, node: string) =>
    servers?.find((s) => s.backend === backend && s.server === node)?.status ?? 'unknown';
  const parts: PartStatus[] = probes.map((p) => {
    const alive = p.pid !== null && p.portsOpen;
    if (p.kind === 'node') {
      const balancer = serverState(MQTT_BACKEND, p.name);
      const inRotation = servers === undefined || balancer === 'UP';
      return { ...base(p, alive), healthy: alive && p.check && inRotation, balancer };
    }
    if (p.kind === 'haproxy') {
      const served = [MQTT_BACKEND, API_BACKEND].every((b) =>
        (servers ?? []).some((s) => s.backend === b && s.status === 'UP'),
      );
      return { ...base(p, alive), healthy: alive && p.check && served, servers: servers ?? [] };
    }
    return { ...base(p, alive), healthy: alive && p.check };
  });
  return { healthy: parts.length > 0 && parts.every((p) => p.healthy), parts } satisfies ClusterStatus;
}

function base(p: PartProbe, alive: boolean) {
  return { name: p.name, kind: p.kind, pid: p.pid, ports: p.ports, alive };
}

async function probe(
  layout: ClusterLayout,
  host: string,
  name: string,
  kind: PartKind,
  ports: Record<string, number>,
  check: () => Promise<boolean>,
): Promise<PartProbe> {
  const pid = runningPid(layout, name) ?? null;
  if (pid === null) return { name, kind, pid, ports, portsOpen: false, check: false };
  const open = await Promise.all(Object.values(ports).map((port) => portOpen(host, port)));
  return { name, kind, pid, ports, portsOpen: open.every(Boolean), check: await check().catch(() => false) };
}

export async function clusterStatus(layout: ClusterLayout, plan: ClusterPlan): Promise<ClusterStatus> {
  const servers = runningPid(layout, 'haproxy') === undefined ? undefined : await haproxyServers(layout);
  const probes = await Promise.all([
    probe(layout, '127.0.0.1', 'redis', 'redis', { redis: plan.redisPort }, () => redisHealthy(layout, plan)),
    probe(layout, '127.0.0.1', 'postgres', 'postgres', { postgres: plan.postgresPort }, () =>
      postgresHealthy(layout, plan),
    ),
    ...plan.nodes.map((n) =>
      probe(layout, plan.host, n.id, 'node', { mqtt: n.mqttPort, https: n.httpPort, download: n.downloadPort }, () =>
        nodeHealthy(layout, plan, n),
      ),
    ),
    probe(
      layout,
      plan.host,
      'haproxy',
      'haproxy',
      { mqtt: plan.mqttPort, api: plan.apiPort },
      async () => servers !== undefined,
    ),
  ]);
  return aggregateStatus(probes, servers);
}
