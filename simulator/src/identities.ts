// Virtual device identities: issued once into DATA/sim/<id>/ by the same code as `fleet device add --bulk`
// (registered in the fleet registry, key made here, certificate from the fleet CA) and reused by later runs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isValidDeviceId } from '../../shared/src/index.js';
import { createAuditLog } from '../../broker/src/db/audit.js';
import { createRegistry } from '../../broker/src/db/registry.js';
import { fleetPaths, loadCa, openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { provisionDevice, rekeySealing, renewDevice } from '../../broker/src/fleet/provision.js';
import { clusterOfSeed, registerInClusterStore } from './cluster-identities.js';
import { SimulatorError } from './errors.js';
import { BACKEND_KEY_FILE, SEAL_KEY_FILE } from '../../shared/src/index.js';

export interface Identity {
  readonly id: string;
  /** Folder holding device.key, device.crt and ca.crt. */
  readonly dir: string;
}

/** Where the simulator keeps its identities inside the fleet data folder. */
export const simDir = (dataDir: string) => join(fleetPaths(dataDir).root, 'sim');

/** The ids `fleet device add --bulk N --prefix P` makes, so identities issued by either are shared. */
export function simIds(prefix: string, count: number, width = Math.max(5, String(count).length)): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`);
}

export function checkDataDir(dataDir: string): void {
  const p = fleetPaths(dataDir);
  if (!existsSync(p.caCert) || !existsSync(p.db)) {
    throw new SimulatorError(
      'SIM_DATA_DIR',
      `${p.root} is not an initialised fleet data folder (no pki/ca.crt or fleet.db); run \`fleet pki init ` +
        `--data ${dataDir}\` first`,
    );
  }
}

export interface EnsureResult {
  readonly identities: Identity[];
  /** Identities made by this call (0 on a rerun). */
  readonly issued: number;
}

/**
 * Makes sure every id has a registered, active identity with its files in DATA/sim/<id>/. Only missing ones
 * are issued; an id registered elsewhere (files not here) gets a fresh certificate and key by renewal.
 */
export async function ensureIdentities(
  dataDir: string,
  ids: readonly string[],
  onProgress?: (done: number, total: number) => void,
): Promise<EnsureResult> {
  checkDataDir(dataDir);
  const bad = ids.find((id) => !isValidDeviceId(id));
  if (bad)
    throw new SimulatorError(
      'SIM_IDENTITY',
      `${JSON.stringify(bad)} is not a valid device id; choose a --prefix of lowercase letters, digits and "-"`,
    );
  const root = simDir(dataDir);
  const identities = ids.map((id) => ({ id, dir: join(root, id) }));
  const haveFiles = (d: string) =>
    ['device.key', 'device.crt', SEAL_KEY_FILE, BACKEND_KEY_FILE].every((f) => existsSync(join(d, f)));
  // NORMAL: one fsync per checkpoint instead of per device; issuing 10,000 identities takes seconds, not minutes.
  const db = openFleetDb(dataDir, { synchronous: 'NORMAL' });
  try {
    const registry = createRegistry(db);
    // One listing rather than a lookup per id: registry.get scans the device table each time.
    const listed = registry.list();
    const status = new Map(listed.map((d) => [d.id, d.status]));
    const types = new Map(listed.map((d) => [d.id, d.type]));
    const todo = identities.filter(({ id, dir }) => status.get(id) !== 'active' || !haveFiles(dir));
    // The seed of a local cluster: its nodes admit by the cluster's store, where the identities go too.
    const cluster = clusterOfSeed(dataDir);
    // Issued here: the type `fleet device add` gives.
    const typeOf = (id: string) => types.get(id) ?? 'default';
    const inCluster = async () => {
      if (cluster) await registerInClusterStore(cluster, identities, typeOf);
    };
    if (todo.length === 0) {
      await inCluster();
      return { identities, issued: 0 };
    }
    const ca = await loadCa(dataDir);
    let made = 0;
    for (const { id, dir } of todo) {
      const known = status.get(id);
      try {
        if (!known) await provisionDevice(registry, ca, id, dir, { overwrite: true });
        else if (known === 'active') {
          await renewDevice(registry, ca, id, { outDir: dir });
          rekeySealing(db, ca, id, dir);
        } else
          throw new SimulatorError('SIM_IDENTITY', `device ${id} is revoked in this fleet; run with another --prefix`);
      } catch (err) {
        if (err instanceof SimulatorError) throw err;
        throw new SimulatorError(
          'SIM_IDENTITY',
          `cannot issue the identity of ${id} into ${dir}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      made++;
      onProgress?.(made, todo.length);
    }
    createAuditLog(db).record({
      event: 'device.added',
      actor: 'fleet-sim',
      detail: { bulk: made, first: todo[0]!.id },
    });
    await inCluster();
    return { identities, issued: made };
  } finally {
    db.close();
  }
}
