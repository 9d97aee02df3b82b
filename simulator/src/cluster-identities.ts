// On a local cluster's seed folder (`fleet cluster up`, DIR/seed), the simulator's identities are registered in the
// cluster's PostgreSQL store too: that is what the cluster's nodes admit devices by and read sealing keys from. Each
// identity missing there, or whose certificate there is not the one in its folder, is registered from its files.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { clusterLayout, type ClusterLayout, type ClusterPlan } from '../../broker/src/cluster/local/layout.js';
import { readPlan } from '../../broker/src/cluster/local/layout.js';
import { postgresUrl } from '../../broker/src/cluster/local/postgres.js';
import { certificateFacts } from '../../broker/src/pki/x509.js';
import { openPostgresStore } from '../../broker/src/store/postgres/store.js';
import { parseSealSecretKeyPem, SEAL_KEY_FILE } from '../../shared/src/index.js';
import type { Identity } from './identities.js';

/** The cluster whose seed folder `dataDir` is, if it is one. */
export function clusterOfSeed(dataDir: string): { layout: ClusterLayout; plan: ClusterPlan } | undefined {
  const layout = clusterLayout(dirname(resolve(dataDir)));
  if (layout.seed !== resolve(dataDir)) return undefined;
  const plan = readPlan(layout);
  return plan && { layout, plan };
}

/**
 * Registers in the cluster's store the identities it lacks (or holds with another certificate); returns how many.
 * `typeOf` is each device's type in the seed's registry.
 */
export async function registerInClusterStore(
  cluster: { layout: ClusterLayout; plan: ClusterPlan },
  identities: readonly Identity[],
  typeOf: (id: string) => string,
): Promise<number> {
  const store = await openPostgresStore(postgresUrl(cluster.layout, cluster.plan));
  try {
    const ids = identities.map((i) => i.id);
    const held = new Map(
      (await store.registry.page({ ids, limit: ids.length + 1 })).map((d) => [d.id, d.certificateSerial]),
    );
    let registered = 0;
    for (const { id, dir } of identities) {
      const cert = certificateFacts(readFileSync(join(dir, 'device.crt'), 'utf8'));
      if (held.get(id) === cert.serial) continue;
      const sealKey = parseSealSecretKeyPem(readFileSync(join(dir, SEAL_KEY_FILE), 'utf8'), SEAL_KEY_FILE).publicKey;
      if (held.has(id)) await store.registry.renew(id, { cert, sealKey, revokeOld: false });
      else await store.registry.addDevice(id, typeOf(id), cert, Date.now(), sealKey);
      registered++;
    }
    return registered;
  } finally {
    await store.close();
  }
}
