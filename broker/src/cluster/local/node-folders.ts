// INTERIM, until the whole store is shared: every node serves its own data folder, made from the cluster's
// seed folder (same fleet CA, server certificate, sealing key, devices and operators). When "all nodes use
// PostgreSQL" lands, this file goes: nodes then need only the PKI, and records are shared.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSafe } from '../../../../shared/src/index.js';
import { fleetPaths, openFleetDb } from '../../fleet/data-dir.js';
import type { ClusterLayout } from './layout.js';

const STAMP = 'seed.sha256';

/**
 * Makes each node's folder a copy of the seed folder, again whenever the seed's database changed since the node's
 * copy was made (a device or operator added to the seed): that node's own records (telemetry, audit) are then
 * replaced. A node whose seed has not changed keeps its records across restarts. Returns the nodes re-seeded.
 */
export async function copySeedIntoNodeFolders(layout: ClusterLayout, nodeIds: readonly string[]): Promise<string[]> {
  const seed = fleetPaths(layout.seed);
  // A consistent snapshot through SQLite's backup API: the seed may have a WAL that a file copy would tear.
  const snapshot = join(layout.nodes, '.seed.db');
  mkdirSync(layout.nodes, { recursive: true, mode: 0o700 });
  rmSync(snapshot, { force: true });
  const db = openFleetDb(layout.seed);
  try {
    await db.backup(snapshot);
  } finally {
    db.close();
  }
  const hash = createHash('sha256').update(readFileSync(snapshot)).digest('hex');
  const reseeded: string[] = [];
  for (const id of nodeIds) {
    const dir = layout.nodeDir(id);
    const node = fleetPaths(dir);
    const stamp = join(dir, STAMP);
    if (existsSync(node.db) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) continue;
    rmSync(dir, { recursive: true, force: true });
    cpSync(seed.pki, node.pki, { recursive: true });
    if (existsSync(seed.releases)) cpSync(seed.releases, node.releases, { recursive: true });
    cpSync(snapshot, node.db);
    writeFileSafe(stamp, `${hash}\n`, { overwrite: true });
    reseeded.push(id);
  }
  rmSync(snapshot, { force: true });
  return reseeded;
}
