// A cluster node's Redis side: the shared aedes plane, the bus, their metrics and readiness, closed together.
import type { Logger } from '../../../shared/src/index.js';
import type { FleetMetrics } from '../metrics/fleet-metrics.js';
import { type AedesPlane, createAedesPlane } from './aedes-plane.js';
import { type ClusterBus, createClusterBus } from './bus.js';
import { NODE_ID_PATTERN } from './events.js';
import { FleetError } from '../errors.js';

export interface ClusterOptions {
  readonly redisUrl: string;
  readonly nodeId: string;
  /** The shared store of the device plane (docs/cluster.md); without it a node keeps records in its data folder. */
  readonly postgresUrl?: string;
  /** The first connect to Redis may take this long before start-up fails (default 5 s). */
  readonly connectTimeoutMs?: number;
}

export interface ClusterNode {
  readonly nodeId: string;
  readonly plane: AedesPlane;
  readonly bus: ClusterBus;
  /** Every Redis connection is up. */
  ready(): boolean;
  close(): Promise<void>;
}

/** The Redis namespace of one fleet: its keys and channels start with it (from the fleet id, its CA's hash). */
export function fleetNamespace(fleetId: string): string {
  return `edgeward:${fleetId.split(':').at(-1)}:`;
}

export async function startClusterNode(
  opts: ClusterOptions & { fleetId: string; log: Logger; metrics: FleetMetrics },
): Promise<ClusterNode> {
  if (!NODE_ID_PATTERN.test(opts.nodeId))
    throw new FleetError('FLEET_CLUSTER_INVALID', `node id ${JSON.stringify(opts.nodeId)} is not [a-z0-9-]{1,32}`);
  const { registry } = opts.metrics;
  const reconnects = registry.counter('edgeward_redis_reconnects_total', 'Redis reconnect attempts, by connection');
  const refused = registry.counter(
    'edgeward_cluster_bus_refused_total',
    'Cluster bus messages refused on receipt (too large, not JSON, unknown kind, invalid), by reason',
  );
  const events = registry.counter('edgeward_cluster_events_total', 'Cluster bus events, by kind and direction');
  const prefix = fleetNamespace(opts.fleetId);
  const deps = {
    url: opts.redisUrl,
    log: opts.log,
    onReconnect: (role: string) => reconnects.inc({ connection: role }),
    ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
  };
  const plane = await createAedesPlane({ ...deps, prefix });
  let bus: ClusterBus;
  try {
    bus = await createClusterBus({
      ...deps,
      nodeId: opts.nodeId,
      channel: `${prefix}bus`,
      onRefused: (reason) => refused.inc({ reason }),
      onEvent: (kind, direction) => events.inc({ kind, direction }),
    });
  } catch (err) {
    await plane.close();
    throw err;
  }
  registry.gauge('edgeward_redis_up', 'Whether every Redis connection of this node is up (1) or not (0)', () =>
    plane.ready() && bus.ready() ? 1 : 0,
  );
  opts.log.info('cluster node joined', { node: opts.nodeId, namespace: prefix });
  return {
    nodeId: opts.nodeId,
    plane,
    bus,
    ready: () => plane.ready() && bus.ready(),
    async close() {
      await bus.close();
      await plane.close();
    },
  };
}
