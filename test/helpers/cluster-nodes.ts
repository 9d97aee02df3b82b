// Cluster nodes for tests: a test fleet's records registered in an empty PostgreSQL store (as `fleet store migrate`
// does), and fleet server nodes, each on its own copy of the fleet's folder, sharing one Redis and that store.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import type { FleetServer, FleetServerOptions } from '../../broker/src/server.js';
import { copySqliteToPostgres } from '../../broker/src/store/copy.js';
import { createPgPool } from '../../broker/src/store/postgres/pool.js';
import { openPostgresStore } from '../../broker/src/store/postgres/store.js';
import { startTestServer, type TestFleet } from './fleet.js';
import { tmpDir } from './tmp.js';

/** Migrates the store and copies the fleet's records into it; the fleet's database is closed (the nodes copy it). */
export async function seedStore(fleet: TestFleet, storeUrl: string): Promise<void> {
  await (await openPostgresStore(storeUrl)).close();
  const pool = createPgPool(storeUrl);
  try {
    await copySqliteToPostgres(fleet.db, pool);
  } finally {
    await pool.end();
  }
  fleet.db.close();
}

export interface TestClusterNode {
  readonly nodeId: string;
  /** The node's data folder (a copy of the fleet's). */
  readonly dir: string;
  readonly server: FleetServer;
}

/** Starts the nodes together (the store's migrations run once, under its advisory lock), on loopback. */
export function startClusterNodes(
  fleet: TestFleet,
  nodeIds: readonly string[],
  cluster: { readonly redisUrl: string; readonly postgresUrl: string },
  extra: Partial<FleetServerOptions> = {},
): Promise<TestClusterNode[]> {
  return Promise.all(
    nodeIds.map(async (nodeId) => {
      const dir = join(tmpDir(`edgeward-${nodeId}-`), 'data');
      cpSync(fleet.dataDir, dir, { recursive: true });
      const server = await startTestServer({ dataDir: dir, ...extra, cluster: { ...cluster, nodeId } });
      return { nodeId, dir, server };
    }),
  );
}
