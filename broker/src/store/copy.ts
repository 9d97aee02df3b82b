// Copies a single-node fleet database (SQLite) into a PostgreSQL store: every table of STORE_TABLES in foreign-key
// order, batched multi-row INSERTs, all in one PostgreSQL transaction (a failure leaves the target as it was), read
// from one SQLite read transaction (one consistent snapshot); then the row counts of both, table by table.
import type { Db } from '../db/open.js';
import { FleetError } from '../errors.js';
import type { PgPool } from './postgres/pool.js';
import { createPostgresStore } from './postgres/store.js';
import { SQLITE_ONLY_TABLES, STORE_TABLES, type StoreTable, type TableSpec } from './tables.js';

/** PostgreSQL takes at most 65,535 parameters per statement. */
const MAX_PARAMS = 60_000;
const MAX_ROWS_PER_INSERT = 1000;

export interface TableCount {
  readonly table: StoreTable;
  readonly source: number;
  /** Rows the target gained (its count now, less what it held before). */
  readonly copied: number;
}

export interface CopyReport {
  readonly tables: TableCount[];
  /** Tables that differ (empty when the copy is complete). */
  readonly differing: StoreTable[];
  /** SQLite tables the store does not cover that hold rows: left behind, named. */
  readonly notCopied: { table: string; rows: number }[];
}

export interface CopyOptions {
  /** Copy into a target that already holds rows (their keys must not collide). */
  readonly allowNonEmpty?: boolean;
  /** After each batch: the table, rows copied so far and its total. */
  readonly onProgress?: (table: StoreTable, done: number, total: number) => void;
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
  const holding = STORE_TABLES.filter((t) => (before[t.name] ?? 0) > 0).map((t) => t.name);
  if (holding.length > 0 && !opts.allowNonEmpty) {
    throw new FleetError(
      'FLEET_STORE_NOT_EMPTY',
      `the target ${pool.shown} already holds rows (${holding.join(', ')}); copy into an empty database, or pass ` +
        '--allow-non-empty on purpose',
    );
  }
  const source: Record<string, number> = {};
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
    });
  } finally {
    db.exec('COMMIT');
  }
  const after = await countAll(pool);
  const tables = STORE_TABLES.map((t) => ({
    table: t.name,
    source: source[t.name] ?? 0,
    copied: (after[t.name] ?? 0) - (before[t.name] ?? 0),
  }));
  const notCopied = SQLITE_ONLY_TABLES.filter((name) => tableExists(db, name))
    .map((table) => ({ table, rows: sqliteCount(db, table) }))
    .filter((x) => x.rows > 0 && x.table !== 'telemetry_keys' && x.table !== 'telemetry_keyed');
  return { tables, differing: tables.filter((x) => x.source !== x.copied).map((x) => x.table), notCopied };
}
