// `fleet cluster up`: the seed's devices (certificates, sealing keys), operators and its admin's credential, the
// public halves of its API token keys, and its releases registered in the cluster's PostgreSQL store, which its nodes
// admit devices and authenticate operators by (docs/cluster.md, "What is shared and what is not yet"). Only into an
// empty store: devices added to the seed later are not copied (the interim the docs describe); the counts of every
// table copied are checked.
import { FleetError } from '../../errors.js';
import { fleetPaths, openFleetDb } from '../../fleet/data-dir.js';
import { copySqliteToPostgres } from '../../store/copy.js';
import { createPgPool } from '../../store/postgres/pool.js';
import { openPostgresStore } from '../../store/postgres/store.js';
import type { ClusterLayout, ClusterPlan } from './layout.js';
import { postgresUrl } from './postgres.js';

/** Copies the seed into the store when the store holds no device yet; returns whether it did. */
export async function registerSeedInStore(layout: ClusterLayout, plan: ClusterPlan): Promise<boolean> {
  const url = postgresUrl(layout, plan);
  const store = await openPostgresStore(url);
  try {
    if ((await store.counts()).devices > 0) return false;
  } finally {
    await store.close();
  }
  const db = openFleetDb(layout.seed);
  const pool = createPgPool(url);
  try {
    // Releases go with their bundles' bytes (the store refuses a release without them).
    const report = await copySqliteToPostgres(db, pool, { releasesDir: fleetPaths(layout.seed).releases });
    if (report.differing.length > 0) {
      throw new FleetError(
        'FLEET_STORE_COUNTS',
        `the seed's rows and the store's differ after the copy: ${report.differing.join(', ')}`,
      );
    }
    return true;
  } finally {
    await pool.end();
    db.close();
  }
}
