// The local cluster's redis-server: loopback only, a generated password, append-only file in DIR/redis.
import { ensurePrivateDir, writeFileSafe } from '../../../../shared/src/index.js';
import type { ClusterLayout, ClusterPlan } from './layout.js';
import { redisPing, redisShutdown } from './probes.js';
import { spawnPart, stopPart } from './processes.js';
import { passwordIn, waitHealthy } from './wait.js';

export const REDIS_HOST = '127.0.0.1';

export function redisUrl(layout: ClusterLayout, plan: ClusterPlan): string {
  return `redis://:${passwordIn(layout.redisPassword)}@${REDIS_HOST}:${plan.redisPort}`;
}

export async function startRedis(layout: ClusterLayout, plan: ClusterPlan, redisServer: string): Promise<number> {
  ensurePrivateDir(layout.redis);
  const password = passwordIn(layout.redisPassword);
  // The password is in a 0600 file, not on the command line, where every local user could read it.
  const conf = [
    `bind ${REDIS_HOST}`,
    `port ${plan.redisPort}`,
    'protected-mode yes',
    `requirepass ${password}`,
    'appendonly yes',
    `dir ${layout.redis}`,
    'daemonize no',
    // Redis rewrites its process title by default; the command line names DIR, which is how status knows it is ours.
    'set-proc-title no',
    '',
  ].join('\n');
  writeFileSafe(layout.redisConf, conf, { mode: 0o600, overwrite: true });
  const pid = spawnPart(layout, { part: 'redis', command: redisServer, args: [layout.redisConf] });
  await waitHealthy(layout, 'redis', pid, () => redisHealthy(layout, plan), 15_000);
  return pid;
}

export const redisHealthy = (layout: ClusterLayout, plan: ClusterPlan) =>
  redisPing(REDIS_HOST, plan.redisPort, passwordIn(layout.redisPassword));

/** SHUTDOWN writes the append-only file and exits; SIGTERM (which does the same) if it cannot be asked. */
export const stopRedis = (layout: ClusterLayout, plan: ClusterPlan) =>
  stopPart(layout, 'redis', () => redisShutdown(REDIS_HOST, plan.redisPort, passwordIn(layout.redisPassword)), 10_000);
