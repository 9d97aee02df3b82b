// Finds the programs a local cluster runs (redis-server, haproxy, PostgreSQL's initdb and postgres) before anything
// is started, so a missing one is one clear error with the install line instead of a half-started cluster.
import { accessSync, constants, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FleetError } from '../../errors.js';

export interface ClusterBinaries {
  readonly redisServer: string;
  readonly haproxy: string;
  readonly initdb: string;
  readonly postgres: string;
}

export const INSTALL_LINE = 'apt-get install -y redis-server haproxy postgresql';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Debian keeps initdb and postgres off PATH, in /usr/lib/postgresql/<version>/bin: the newest version wins. */
function postgresDirs(root: string): string[] {
  try {
    return readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => join(root, v, 'bin'));
  } catch {
    return [];
  }
}

/** Where programs are looked for: PATH, then the sbin folders (haproxy is there), then PostgreSQL's own. */
export interface ProgramSearch {
  readonly path: string;
  readonly sbin: readonly string[];
  readonly postgresRoot: string;
}

const SYSTEM: ProgramSearch = {
  path: process.env.PATH ?? '',
  sbin: ['/usr/sbin', '/sbin'],
  postgresRoot: '/usr/lib/postgresql',
};

export function findProgram(name: string, extraDirs: readonly string[] = [], search = SYSTEM): string | undefined {
  const dirs = [...search.path.split(':').filter(Boolean), ...search.sbin, ...extraDirs];
  return dirs.map((d) => join(d, name)).find(executable);
}

/** Every program, or FLEET_CLUSTER_PEER_MISSING naming all that are missing and the apt-get line. */
export function findClusterBinaries(search: ProgramSearch = SYSTEM): ClusterBinaries {
  const pg = postgresDirs(search.postgresRoot);
  const found = {
    redisServer: findProgram('redis-server', [], search),
    haproxy: findProgram('haproxy', [], search),
    initdb: findProgram('initdb', pg, search),
    postgres: findProgram('postgres', pg, search),
  };
  const names: Record<keyof typeof found, string> = {
    redisServer: 'redis-server',
    haproxy: 'haproxy',
    initdb: 'initdb',
    postgres: 'postgres',
  };
  const missing = (Object.keys(found) as (keyof typeof found)[]).filter((k) => found[k] === undefined);
  if (missing.length > 0) {
    throw new FleetError(
      'FLEET_CLUSTER_PEER_MISSING',
      `a local cluster needs ${missing.map((k) => names[k]).join(', ')}, not found on PATH ` +
        `(nor in /usr/lib/postgresql/*/bin): install with \`${INSTALL_LINE}\``,
    );
  }
  return found as ClusterBinaries;
}
