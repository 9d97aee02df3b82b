// What the fleet database holds, for operators (`fleet db stats`): rows and bytes per table, free pages, the WAL,
// and the span of the telemetry. Reads every page (dbstat, count), so it takes about as long as an integrity check.
import { statSync } from 'node:fs';
import type { Db } from './open.js';

export interface TableStats {
  readonly name: string;
  readonly rows: number;
  /** Pages of the table and its indexes, in bytes. */
  readonly bytes: number;
}

export interface DbStats {
  readonly file: string;
  readonly pageSize: number;
  readonly fileBytes: number;
  /** Free pages inside the file: reused for new rows, given back to the disk by VACUUM. */
  readonly freeBytes: number;
  readonly walBytes: number;
  /** Largest first. */
  readonly tables: readonly TableStats[];
  readonly telemetry: {
    readonly samples: number;
    /** When the oldest and the newest stored sample arrived (ms), null when there is none. */
    readonly oldestReceivedAt: number | null;
    readonly newestReceivedAt: number | null;
    /** Streams that lost samples to retention (telemetry_pruned). */
    readonly prunedStreams: number;
  };
}

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;
const sizeOf = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;

export function dbStats(db: Db): DbStats {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const names = db
    .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
    .pluck()
    .all() as string[];
  // dbstat names each b-tree: a table's own, or an index's; an index counts for its table.
  const owner = new Map(
    (
      db.prepare(`SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')`).raw().all() as [
        string,
        string,
      ][]
    ).map(([name, table]) => [name, table]),
  );
  const bytes = new Map<string, number>();
  for (const [name, size] of db.prepare('SELECT name, sum(pgsize) FROM dbstat GROUP BY name').raw().all() as [
    string,
    number,
  ][]) {
    const table = owner.get(name) ?? name;
    bytes.set(table, (bytes.get(table) ?? 0) + size);
  }
  const tables = names
    .map((name) => ({
      name,
      rows: db
        .prepare(`SELECT count(*) FROM ${quoted(name)}`)
        .pluck()
        .get() as number,
      bytes: bytes.get(name) ?? 0,
    }))
    .sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
  const has = (table: string) => names.includes(table);
  // Rows are in arrival order (migration 6): the first and the last row are the oldest and the newest.
  const receivedAt = (order: 'ASC' | 'DESC') =>
    has('telemetry')
      ? ((db.prepare(`SELECT received_at FROM telemetry ORDER BY id ${order} LIMIT 1`).pluck().get() as
          | number
          | undefined) ?? null)
      : null;
  const file = db.name;
  return {
    file,
    pageSize,
    fileBytes: sizeOf(file),
    freeBytes: (db.pragma('freelist_count', { simple: true }) as number) * pageSize,
    walBytes: sizeOf(`${file}-wal`),
    tables,
    telemetry: {
      samples: tables.find((t) => t.name === 'telemetry')?.rows ?? 0,
      oldestReceivedAt: receivedAt('ASC'),
      newestReceivedAt: receivedAt('DESC'),
      prunedStreams: tables.find((t) => t.name === 'telemetry_pruned')?.rows ?? 0,
    },
  };
}
