// The cluster bus: typed events between the nodes of one fleet over Redis pub/sub (a publishing connection and a
// separate subscriber, as Redis requires). Each event names its origin; a node ignores its own.
import type { Redis } from 'ioredis';
import type { Logger } from '../../../shared/src/index.js';
import { closeRedis, openRedis, type RedisConnectionDeps } from './connection.js';
import { type BusEvent, type OutgoingBusEvent, parseBusMessage } from './events.js';

/** How long a claim waits for Redis before it is refused. */
const CLAIM_TIMEOUT_MS = 2000;

export interface ClusterBus {
  publish(event: OutgoingBusEvent): void;
  /** Called for every valid event another node published. */
  on(handler: (event: BusEvent) => void): void;
  /** Both connections are up. */
  ready(): boolean;
  /** Says this node is alive for the next `ttlMs` (a Redis key that expires unless renewed). */
  heartbeat(ttlMs: number): Promise<void>;
  /** Which of these nodes said so within their time to live. */
  alive(nodeIds: readonly string[]): Promise<Set<string>>;
  /**
   * Claims `name` for `ttlMs` across the cluster (SET NX): true for the first claim on any node, false for every
   * later one until it expires. Rejects when Redis cannot answer (the caller refuses rather than allow twice).
   */
  claimOnce(name: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface ClusterBusDeps extends RedisConnectionDeps {
  readonly nodeId: string;
  /** The pub/sub channel: one per fleet, so two fleets sharing a Redis do not hear each other. */
  readonly channel: string;
  readonly log: Logger;
  /** A message refused on receipt, by reason (too-large, not-json, unknown-kind, invalid). */
  readonly onRefused: (reason: string) => void;
  readonly onEvent?: (kind: string, direction: 'in' | 'out') => void;
}

export async function createClusterBus(deps: ClusterBusDeps): Promise<ClusterBus> {
  const pub = await openRedis(deps, 'bus-pub');
  let sub: Redis;
  try {
    sub = await openRedis(deps, 'bus-sub');
    // ioredis subscribes again by itself after a reconnect.
    await sub.subscribe(deps.channel);
  } catch (err) {
    pub.disconnect();
    throw err;
  }
  const handlers: ((e: BusEvent) => void)[] = [];
  const nodeKey = (id: string) => `${deps.channel}:node:${id}`;
  sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
    const parsed = parseBusMessage(message);
    if (!parsed.ok) {
      deps.onRefused(parsed.reason);
      deps.log.warn('cluster bus message refused', { reason: parsed.reason, bytes: message.length });
      return;
    }
    if (parsed.event.node === deps.nodeId) return;
    deps.onEvent?.(parsed.event.kind, 'in');
    for (const h of handlers) {
      try {
        h(parsed.event);
      } catch (err) {
        deps.log.error('cluster bus handler failed', { kind: parsed.event.kind, error: err as Error });
      }
    }
  });
  return {
    publish(event) {
      deps.onEvent?.(event.kind, 'out');
      pub
        .publish(deps.channel, JSON.stringify({ ...event, node: deps.nodeId }))
        .catch((err: Error) => deps.log.warn('cluster bus event not sent', { kind: event.kind, error: err.message }));
    },
    on: (h) => void handlers.push(h),
    ready: () => pub.status === 'ready' && sub.status === 'ready',
    async heartbeat(ttlMs) {
      await pub.set(nodeKey(deps.nodeId), String(Date.now()), 'PX', ttlMs);
    },
    async claimOnce(name, ttlMs) {
      // Not queued while Redis is away (ioredis would hold the command through its reconnects): refused now.
      if (pub.status !== 'ready') throw new Error(`redis is ${pub.status}`);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('redis did not answer')), CLAIM_TIMEOUT_MS);
      });
      const set = pub.set(`${deps.channel}:once:${name}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
      try {
        return (await Promise.race([set, late])) === 'OK';
      } finally {
        clearTimeout(timer);
        set.catch(() => {});
      }
    },
    async alive(nodeIds) {
      if (nodeIds.length === 0) return new Set();
      const values = await pub.mget(nodeIds.map(nodeKey));
      return new Set(nodeIds.filter((_, i) => values[i] !== null));
    },
    async close() {
      await Promise.all([closeRedis(sub), closeRedis(pub)]);
    },
  };
}
