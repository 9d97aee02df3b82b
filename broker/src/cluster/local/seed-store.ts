// `fleet cluster up`: the seed's devices (certificates, sealing keys, operators) and releases registered in the
// cluster's PostgreSQL store, which its nodes admit devices by (docs/cluster.md, "What is shared and what is not
// yet"). Only into an empty store: devices added to the seed later are not copied (the interim the docs describe).
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
    await copySqliteToPostgres(db, pool, { releasesDir: fleetPaths(layout.seed).releases });
    return true;
  } finally {
    await pool.end();
    db.close();
  }
}
