// The aedes parts a cluster node shares through Redis: message routing and retained messages (mqemitter-redis) and
// sessions with their QoS 1 in-flight and offline queues (aedes-persistence-redis), both under the fleet's prefix.
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { closeRedis, openRedis, type RedisConnectionDeps } from './connection.js';

const require = createRequire(import.meta.url);
// Untyped entry points: the prefixed emitter is an extra export of mqemitter-redis; the persistence is the
// callback wrapper aedes 1.2 expects (it reads retained messages and queues as streams, and awaits the rest).
const { MQEmitterRedisPrefix } = require('mqemitter-redis') as {
  MQEmitterRedisPrefix: new (prefix: string, opts: { subConn: Redis; pubConn: Redis }) => AedesMq;
};
const redisPersistence = require('aedes-persistence-redis') as (opts: { conn: Redis }) => AedesPersistence;

/** What aedes takes as `mq`; `state` reports the Redis connections' errors. */
interface AedesMq {
  readonly state: NodeJS.EventEmitter;
  close(cb: () => void): void;
}
/** What aedes takes as `persistence` (an async one, as aedes 1.x requires). */
interface AedesPersistence {
  setup(broker: unknown): Promise<void>;
}

export interface AedesPlane {
  readonly mq: AedesMq;
  readonly persistence: AedesPersistence;
  /** All three connections are up. */
  ready(): boolean;
  /**
   * After aedes has closed (which quits the emitter's connections) or given up closing: whatever is still open is
   * disconnected. The persistence's destroy() is not called: it only unsubscribes from the emitter, already closed.
   */
  close(): Promise<void>;
}

export async function createAedesPlane(deps: RedisConnectionDeps & { prefix: string }): Promise<AedesPlane> {
  const opened: Redis[] = [];
  try {
    for (const role of ['mq-sub', 'mq-pub'] as const) opened.push(await openRedis(deps, role));
    // Sessions' keys carry the fleet's prefix; ioredis adds it to every key (not to pub/sub channels).
    opened.push(await openRedis(deps, 'sessions', { keyPrefix: deps.prefix }));
  } catch (err) {
    for (const r of opened) r.disconnect();
    throw err;
  }
  const [subConn, pubConn, sessions] = opened as [Redis, Redis, Redis];
  const mq = new MQEmitterRedisPrefix(deps.prefix, { subConn, pubConn });
  // Without a listener the emitter's error event would throw out of the process; the connections log it.
  mq.state.on('error', () => {});
  // aedes-persistence-redis 11 (LREM, RPUSH of wills) and mqemitter-redis send some commands without awaiting them:
  // when Redis is away, or a connection closes with commands still queued (ioredis rejects them with "Connection is
  // closed"), their rejection would end the process. Every command of these connections gets an observed handler,
  // which makes that harmless; callers that await still get the error.
  for (const conn of opened) {
    const send = conn.sendCommand.bind(conn) as (...args: unknown[]) => unknown;
    (conn as unknown as { sendCommand: (...args: unknown[]) => unknown }).sendCommand = (...args: unknown[]) => {
      const sent = send(...args);
      if (sent instanceof Promise) sent.catch(() => {});
      return sent;
    };
  }
  const persistence = redisPersistence({ conn: sessions });
  return {
    mq,
    persistence,
    ready: () => opened.every((r) => r.status === 'ready'),
    async close() {
      await Promise.all(opened.map(closeRedis));
    },
  };
}
