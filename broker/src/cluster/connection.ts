// One ioredis connection of a cluster node: a bounded first connect (a clear error, never a hang), then
// reconnects that are logged and counted for as long as the node runs.
import { Redis } from 'ioredis';
import type { Logger } from '../../../shared/src/index.js';
import { FleetError } from '../errors.js';

export interface RedisConnectionDeps {
  readonly url: string;
  readonly log: Logger;
  /** Counted once per reconnect attempt, labelled with the connection's role. */
  readonly onReconnect: (role: string) => void;
  /** How long the first connect may take before start-up fails (default 5 s). */
  readonly connectTimeoutMs?: number;
}

/** The URL without its password, for logs and errors (a redis:// URL may carry one). */
export function redactedRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return 'redis://(unparseable)';
  }
}

export function parseRedisUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FleetError('FLEET_REDIS_UNREACHABLE', `the Redis address is not a URL: ${redactedRedisUrl(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new FleetError(
      'FLEET_REDIS_UNREACHABLE',
      `the Redis address must be redis:// or rediss://, got ${u.protocol}`,
    );
  return u;
}

/** Opens a connection and waits until Redis answers, or throws FLEET_REDIS_UNREACHABLE after the timeout. */
export async function openRedis(
  deps: RedisConnectionDeps,
  role: string,
  extra: { keyPrefix?: string } = {},
): Promise<Redis> {
  parseRedisUrl(deps.url);
  const timeoutMs = deps.connectTimeoutMs ?? 5000;
  const redis = new Redis(deps.url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // Commands wait through a short outage, then fail rather than queue without bound.
    maxRetriesPerRequest: 20,
    retryStrategy: (times) => Math.min(100 * times, 2000),
    ...extra,
  });
  let started = false;
  redis.on('error', (err: Error) => {
    if (started) deps.log.debug('redis connection error', { role, error: err.message });
  });
  redis.on('reconnecting', () => {
    if (!started) return;
    deps.onReconnect(role);
    deps.log.warn('redis connection lost: reconnecting', { role, redis: redactedRedisUrl(deps.url) });
  });
  redis.on('ready', () => {
    if (started) deps.log.info('redis connection restored', { role });
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    redis.disconnect();
    throw new FleetError(
      'FLEET_REDIS_UNREACHABLE',
      `Redis at ${redactedRedisUrl(deps.url)} is unreachable (${(err as Error).message}); start it or fix --redis`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
  started = true;
  return redis;
}

/** Closes a connection: QUIT when it is up, a plain disconnect otherwise (QUIT would wait for a reconnect). */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') return void redis.disconnect();
  await redis.quit().catch(() => redis.disconnect());
}
