// The local cluster's HAProxy: its configuration written and checked with `haproxy -c`, then started in the
// foreground (a child like the others), healthy once every node is UP in both backends.
import { execFileSync } from 'node:child_process';
import { ensurePrivateDir, writeFileSafe } from '../../../../shared/src/index.js';
import { FleetError } from '../../errors.js';
import { fleetPaths } from '../../fleet/data-dir.js';
import { haproxyConfig, parseShowStat, type BackendServerState } from './haproxy-config.js';
import type { ClusterLayout, ClusterPlan } from './layout.js';
import { haproxyShowStat } from './probes.js';
import { spawnPart, stopPart } from './processes.js';
import { waitHealthy } from './wait.js';

export function writeHaproxyConfig(layout: ClusterLayout, plan: ClusterPlan, haproxy: string): void {
  ensurePrivateDir(layout.haproxy);
  const cfg = haproxyConfig(plan, { caFile: fleetPaths(layout.seed).caCert, statsSocket: layout.statsSocket });
  writeFileSafe(layout.haproxyCfg, `${cfg}\n`, { mode: 0o600, overwrite: true });
  try {
    execFileSync(haproxy, ['-c', '-f', layout.haproxyCfg], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-10).join('\n');
    throw new FleetError('FLEET_CLUSTER_START', `haproxy refused ${layout.haproxyCfg}:\n${output}`, { cause: err });
  }
}

/** Each backend server's state, or undefined when the stats socket does not answer. */
export async function haproxyServers(layout: ClusterLayout): Promise<BackendServerState[] | undefined> {
  const csv = await haproxyShowStat(layout.statsSocket);
  return csv.startsWith('# ') ? parseShowStat(csv) : undefined;
}

export async function startHaproxy(layout: ClusterLayout, plan: ClusterPlan, haproxy: string): Promise<number> {
  writeHaproxyConfig(layout, plan, haproxy);
  const pid = spawnPart(layout, { part: 'haproxy', command: haproxy, args: ['-f', layout.haproxyCfg] });
  const allUp = async () => {
    const servers = await haproxyServers(layout);
    return servers !== undefined && servers.length === plan.nodes.length * 2 && servers.every((s) => s.status === 'UP');
  };
  // rise 2 at inter 1s: a few seconds after the nodes are ready.
  await waitHealthy(layout, 'haproxy', pid, allUp, 20_000);
  return pid;
}

export const stopHaproxy = (layout: ClusterLayout) => stopPart(layout, 'haproxy', 'SIGTERM', 10_000);
