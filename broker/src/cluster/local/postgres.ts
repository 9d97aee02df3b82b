// The local cluster's PostgreSQL: initdb in DIR/postgres (scram-sha-256, a generated password), listening on
// loopback only with its socket in DIR/postgres. PostgreSQL refuses to run as root: as root it runs as `postgres`.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { FleetError } from '../../errors.js';
import type { ClusterBinaries } from './binaries.js';
import { findProgram } from './binaries.js';
import type { ClusterLayout, ClusterPlan } from './layout.js';
import { type PostgresTarget, postgresQuery } from './probes.js';
import { spawnPart, stopPart } from './processes.js';
import { passwordIn, startFailure, waitHealthy } from './wait.js';

export const POSTGRES_HOST = '127.0.0.1';
const USER = 'fleet';
const DATABASE = 'fleet';

const isRoot = () => process.getuid?.() === 0;

function asPostgres(command: string, args: string[]): [string, string[]] {
  if (!isRoot()) return [command, args];
  const setpriv = findProgram('setpriv');
  if (!setpriv) throw new FleetError('FLEET_CLUSTER_PEER_MISSING', 'running as root needs setpriv (util-linux)');
  return [setpriv, ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]];
}

export function postgresTarget(layout: ClusterLayout, plan: ClusterPlan, database = DATABASE): PostgresTarget {
  const password = passwordIn(layout.postgresPassword);
  return { host: POSTGRES_HOST, port: plan.postgresPort, user: USER, password, database };
}

export function postgresUrl(layout: ClusterLayout, plan: ClusterPlan): string {
  const t = postgresTarget(layout, plan);
  return `postgres://${t.user}:${t.password}@${t.host}:${t.port}/${t.database}`;
}

function initdb(layout: ClusterLayout, bins: ClusterBinaries): void {
  mkdirSync(layout.postgres, { recursive: true, mode: 0o700 });
  passwordIn(layout.postgresPassword);
  if (isRoot()) execFileSync('chown', ['-R', 'postgres:postgres', layout.postgres]);
  const [cmd, args] = asPostgres(bins.initdb, [
    '-D',
    layout.postgresData,
    '-A',
    'scram-sha-256',
    '-U',
    USER,
    `--pwfile=${layout.postgresPassword}`,
    '-E',
    'UTF8',
    '--locale=C',
  ]);
  try {
    execFileSync(cmd, args, { stdio: 'pipe' });
  } catch (err) {
    const output = `${(err as { stderr?: Buffer }).stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
    throw new FleetError('FLEET_CLUSTER_START', `postgres: initdb failed in ${layout.postgresData}:\n${output}`, {
      cause: err,
    });
  }
}

export async function startPostgres(layout: ClusterLayout, plan: ClusterPlan, bins: ClusterBinaries): Promise<number> {
  // As root, the postgres user must cross DIR (0711: enter, not list); DIR is made 0700 like every data folder.
  if (isRoot()) chmodSync(layout.root, 0o711);
  if (!existsSync(layout.postgresData)) initdb(layout, bins);
  const [cmd, args] = asPostgres(bins.postgres, [
    '-D',
    layout.postgresData,
    '-p',
    String(plan.postgresPort),
    '-k',
    layout.postgres,
    '-c',
    `listen_addresses=${POSTGRES_HOST}`,
    '-c',
    'unix_socket_permissions=0700',
  ]);
  const pid = spawnPart(layout, { part: 'postgres', command: cmd, args });
  const admin = postgresTarget(layout, plan, 'postgres');
  await waitHealthy(layout, 'postgres', pid, () => postgresQuery(admin), 30_000);
  if (!(await postgresHealthy(layout, plan))) {
    // The fleet's own database, made once; CREATE DATABASE takes no IF NOT EXISTS.
    if (!(await postgresQuery(admin, `CREATE DATABASE ${DATABASE}`))) {
      throw startFailure(layout, 'postgres', `could not create the database ${DATABASE}`);
    }
  }
  return pid;
}

export const postgresHealthy = (layout: ClusterLayout, plan: ClusterPlan) =>
  postgresQuery(postgresTarget(layout, plan));

/** SIGINT is PostgreSQL's fast shutdown: sessions are ended, a checkpoint written. */
export const stopPostgres = (layout: ClusterLayout) => stopPart(layout, 'postgres', 'SIGINT', 15_000);
