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
function postgresDirs(): string[] {
  try {
    return readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => join('/usr/lib/postgresql', v, 'bin'));
  } catch {
    return [];
  }
}

export function findProgram(name: string, extraDirs: readonly string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin', ...extraDirs];
  return dirs.map((d) => join(d, name)).find(executable);
}

/** Every program, or FLEET_CLUSTER_PEER_MISSING naming all that are missing and the apt-get line. */
export function findClusterBinaries(): ClusterBinaries {
  const pg = postgresDirs();
  const found = {
    redisServer: findProgram('redis-server'),
    haproxy: findProgram('haproxy'),
    initdb: findProgram('initdb', pg),
    postgres: findProgram('postgres', pg),
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
