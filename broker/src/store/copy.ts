// Copies a single-node fleet database (SQLite) into a PostgreSQL store: every table of STORE_TABLES in foreign-key
// order, batched multi-row INSERTs, then the releases' bundles from the data folder's files into release_chunks,
// all in one PostgreSQL transaction (a failure leaves the target as it was), read from one SQLite read transaction
// (one consistent snapshot); then the row counts of both, table by table.
import { createReadStream } from 'node:fs';
import type { Db } from '../db/open.js';
import { FleetError } from '../errors.js';
import { releaseFile } from '../fleet/releases.js';
import type { PgPool } from './postgres/pool.js';
import { CHUNK_BYTES, fixedChunks } from './postgres/releases.js';
import { createPostgresStore } from './postgres/store.js';
import { SQLITE_ONLY_TABLES, STORE_TABLES, type StoreTable, type TableSpec } from './tables.js';

/** PostgreSQL takes at most 65,535 parameters per statement. */
const MAX_PARAMS = 60_000;
const MAX_ROWS_PER_INSERT = 1000;

/** The bundles' rows: not a table of SQLite's (its bundles are files), counted as one in the report. */
const CHUNKS = 'release_chunks';
type CopiedTable = StoreTable | typeof CHUNKS;

export interface TableCount {
  readonly table: CopiedTable;
  readonly source: number;
  /** Rows the target gained (its count now, less what it held before). */
  readonly copied: number;
}

export interface CopyReport {
  readonly tables: TableCount[];
  /** Tables that differ (empty when the copy is complete). */
  readonly differing: CopiedTable[];
  /** SQLite tables the store does not cover that hold rows: left behind, named. */
  readonly notCopied: { table: string; rows: number }[];
}

export interface CopyOptions {
  /** Copy into a target that already holds rows (their keys must not collide). */
  readonly allowNonEmpty?: boolean;
  /** After each batch: the table, rows copied so far and its total. */
  readonly onProgress?: (table: CopiedTable, done: number, total: number) => void;
  /**
   * The source's releases/ (fleetPaths(dir).releases), where its bundles are. Without it a source holding releases
   * cannot be copied: the store refuses a release without its bytes.
   */
  readonly releasesDir?: string;
}

/** Rows of release_chunks a bundle of `size` bytes takes. */
const chunksOf = (size: number) => Math.ceil(size / CHUNK_BYTES);

async function countChunks(pool: PgPool): Promise<number> {
  const r = await pool.query<{ n: number }>('store migrate', `SELECT count(*) AS n FROM ${CHUNKS}`);
  return r.rows[0]!.n;
}

const sourceColumns = (t: TableSpec) =>
  t.columns.map((c) => (t.sqliteSource?.[c] ? `${t.sqliteSource[c]} AS ${c}` : c)).join(', ');

async function countAll(pool: PgPool): Promise<Record<string, number>> {
  return createPostgresStore(pool).counts();
}

function sqliteCount(db: Db, table: string): number {
  return db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
}

function tableExists(db: Db, table: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(table) !== undefined;
}

export async function copySqliteToPostgres(db: Db, pool: PgPool, opts: CopyOptions = {}): Promise<CopyReport> {
  const before = await countAll(pool);
  const chunksBefore = await countChunks(pool);
  const holding = STORE_TABLES.filter((t) => (before[t.name] ?? 0) > 0).map((t) => t.name);
  if (holding.length > 0 && !opts.allowNonEmpty) {
    throw new FleetError(
      'FLEET_STORE_NOT_EMPTY',
      `the target ${pool.shown} already holds rows (${holding.join(', ')}); copy into an empty database, or pass ` +
        '--allow-non-empty on purpose',
    );
  }
  const source: Record<string, number> = {};
  let chunks = 0;
  db.exec('BEGIN'); // one snapshot of the source for the whole copy and its counts
  try {
    await pool.transaction('store migrate', async (c) => {
      for (const spec of STORE_TABLES) {
        const t: TableSpec & { name: StoreTable } = spec;
        const total = sqliteCount(db, t.name);
        source[t.name] = total;
        const per = Math.max(1, Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_PARAMS / t.columns.length)));
        const order = t.identity ? ` ORDER BY ${t.sqliteSource?.[t.identity] ?? t.identity}` : '';
        const read = db.prepare(`SELECT ${sourceColumns(t)} FROM ${t.name}${order}`).raw();
        let batch: unknown[][] = [];
        let done = 0;
        const flush = async () => {
          if (batch.length === 0) return;
          const width = t.columns.length;
          const tuples = batch.map((_, r) => `(${t.columns.map((_c, i) => `$${r * width + i + 1}`).join(', ')})`);
          await c.query(`INSERT INTO ${t.name} (${t.columns.join(', ')}) VALUES ${tuples.join(', ')}`, batch.flat());
          done += batch.length;
          batch = [];
          opts.onProgress?.(t.name, done, total);
        };
        for (const row of read.iterate() as IterableIterator<unknown[]>) {
          batch.push(row);
          if (batch.length >= per) await flush();
        }
        await flush();
        if (total === 0) opts.onProgress?.(t.name, 0, 0);
        // Generated keys continue after the copied rows.
        if (t.identity) {
          await c.query(
            `SELECT setval(pg_get_serial_sequence('${t.name}', '${t.identity}'), ` +
              `coalesce((SELECT max(${t.identity}) FROM ${t.name}), 0) + 1, false)`,
          );
        }
      }
      const releases = db.prepare('SELECT id, size FROM releases ORDER BY id').all() as { id: string; size: number }[];
      chunks = releases.reduce((n, r) => n + chunksOf(r.size), 0);
      let done = 0;
      for (const r of releases) {
        // Without the folder nothing is copied: the commit is refused for the releases without their bytes.
        if (opts.releasesDir === undefined) break;
        const file = releaseFile(opts.releasesDir, r.id);
        let n = 0;
        for await (const chunk of fixedChunks(createReadStream(file, { highWaterMark: CHUNK_BYTES }), CHUNK_BYTES)) {
          await c.query(`INSERT INTO ${CHUNKS} (release_id, n, data) VALUES ($1, $2, $3)`, [r.id, n++, chunk]);
        }
        done += n;
        opts.onProgress?.(CHUNKS, done, chunks);
      }
      if (chunks === 0) opts.onProgress?.(CHUNKS, 0, 0);
    });
  } finally {
    db.exec('COMMIT');
  }
  const after = await countAll(pool);
  const tables: TableCount[] = [
    ...STORE_TABLES.map((t) => ({
      table: t.name,
      source: source[t.name] ?? 0,
      copied: (after[t.name] ?? 0) - (before[t.name] ?? 0),
    })),
    { table: CHUNKS, source: chunks, copied: (await countChunks(pool)) - chunksBefore },
  ];
  const notCopied = SQLITE_ONLY_TABLES.filter((name) => tableExists(db, name))
    .map((table) => ({ table, rows: sqliteCount(db, table) }))
    .filter((x) => x.rows > 0 && x.table !== 'telemetry_keys' && x.table !== 'telemetry_keyed');
  return { tables, differing: tables.filter((x) => x.source !== x.copied).map((x) => x.table), notCopied };
}
