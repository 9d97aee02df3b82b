// Tables whose rows are stored in arrival order and stamped with the server's clock as they arrive (telemetry,
// exposure reports, the security event log): the stamp does not decrease along the row id, so a time is a row id,
// found by binary search.
import type { Db } from './open.js';

export type ArrivalTable = 'telemetry' | 'exposure_reports' | 'audit';

/** The column each table is stamped in (ms since the epoch). */
const STAMP: Record<ArrivalTable, string> = { telemetry: 'received_at', exposure_reports: 'received_at', audit: 'at' };

/**
 * How much earlier than a range's start a page begins to look, its rows then filtered by their stamp: writers on
 * several connections (the ingest thread, the server, the CLI) stamp a row before they commit it, so stamps can
 * cross by a few milliseconds along the ids, and a clock may be stepped back a little.
 */
const ARRIVAL_SLACK_MS = 60_000;

/** The lowest row id from which every row was received at or after a time (one past the last row when none was). */
export function createArrivalSearch(db: Db, table: ArrivalTable): (at: number) => number {
  const column = STAMP[table];
  const firstAtOrAfter = db.prepare(`SELECT ${column} FROM ${table} WHERE id >= ? ORDER BY id LIMIT 1`).pluck();
  // Two subqueries: SQLite reads min() or max() of the row id from the B-tree's ends only when the aggregate is
  // alone in its query; `SELECT min(id), max(id)` scans the whole table (30 ms at 150,000 rows, on every page).
  const bounds = db.prepare(
    `SELECT coalesce((SELECT min(id) FROM ${table}), 1) AS lo, coalesce((SELECT max(id) FROM ${table}), 0) AS hi`,
  );
  // About 40 lookups by row id for a billion rows; ids need not be contiguous (the first row at or after `mid`).
  return (at) => {
    const { lo, hi } = bounds.get() as { lo: number; hi: number };
    let low = lo;
    let high = hi + 1;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const receivedAt = firstAtOrAfter.get(mid) as number | undefined;
      if (receivedAt === undefined || receivedAt >= at) high = mid;
      else low = mid + 1;
    }
    return low;
  };
}

/** A page's place in an arrival-ordered table: rows after `after`, through `end` (the range's last row id now). */
/**
 * Rows received in each period [starts[i], starts[i + 1]), the last open-ended: the ids between binary searches
 * (2 × 25 index lookups per period, not a scan). Ids deleted inside a period (retention) would count as rows.
 */
export function createArrivalCounts(db: Db, table: ArrivalTable): (starts: readonly number[]) => number[] {
  const search = createArrivalSearch(db, table);
  return (starts) => {
    const ids = [...starts.map(search), search(Number.MAX_SAFE_INTEGER)];
    return starts.map((_, i) => ids[i + 1]! - ids[i]!);
  };
}

export interface ArrivalWindow {
  readonly after: number;
  readonly end: number;
}

/**
 * The ids a page of rows stamped in [from, to) looks at, after the previous page's `after`. The ids are searched
 * ARRIVAL_SLACK_MS wide of the range, so the query must also filter on the stamp: then no row of the range is
 * missed for a few crossed stamps.
 */
export function createArrivalWindow(
  db: Db,
  table: ArrivalTable,
): (q: { from?: number; to?: number; after?: number }) => ArrivalWindow {
  const search = createArrivalSearch(db, table);
  const last = db.prepare(`SELECT coalesce(max(id), 0) FROM ${table}`).pluck();
  return (q) => {
    const first = q.from === undefined ? 1 : search(q.from - ARRIVAL_SLACK_MS);
    const through = q.to === undefined ? Number.MAX_SAFE_INTEGER : search(q.to + ARRIVAL_SLACK_MS) - 1;
    return { after: Math.max(q.after ?? 0, first - 1), end: Math.min(through, last.get() as number) };
  };
}

/** A page limited to some devices scans at most this many rows (it may then come back short). */
export const ARRIVAL_PAGE_SCAN_ROWS = 20_000;

/** A fleet-wide page of rows received in [from, to), after a cursor, optionally of some devices only. */
export interface ArrivalPageQuery {
  /** Received at or after (ms since the epoch). */
  readonly from?: number;
  /** Received before (ms since the epoch). */
  readonly to?: number;
  /** The row id the previous page ended with. */
  readonly after?: number;
  readonly limit: number;
  /** Only these devices' rows (a device-limited caller); null: every device's. */
  readonly devices: readonly string[] | null;
}

/**
 * Pages of `columns` (with `id`) of a table's rows, oldest first: up to `limit` rows and `last`, the cursor of the
 * next page (null when the range is done). Limited to some devices, a page scans at most ARRIVAL_PAGE_SCAN_ROWS
 * rows, so it may hold fewer rows than asked while `last` is not null.
 */
export function createArrivalPage<R extends { id: number }>(
  db: Db,
  table: 'telemetry' | 'exposure_reports',
  columns: string,
): (q: ArrivalPageQuery) => { rows: R[]; last: number | null } {
  const window = createArrivalWindow(db, table);
  const stamp = STAMP[table];
  const select = db.prepare(`
    SELECT id, ${columns} FROM ${table}
     WHERE id > @after AND id <= @last AND ${stamp} >= @from AND ${stamp} < @to
       AND (@devices IS NULL OR device_id IN (SELECT value FROM json_each(@devices)))
     ORDER BY id LIMIT @limit`);
  return (q) => {
    const w = window(q);
    const last = q.devices === null ? w.end : Math.min(w.end, w.after + ARRIVAL_PAGE_SCAN_ROWS);
    const rows = select.all({
      after: w.after,
      last,
      from: q.from ?? 0,
      to: q.to ?? Number.MAX_SAFE_INTEGER,
      devices: q.devices === null ? null : JSON.stringify(q.devices),
      limit: q.limit + 1,
    }) as R[];
    return {
      rows: rows.slice(0, q.limit),
      last: nextCursor(
        rows.map((r) => r.id),
        q.limit,
        last,
        w.end,
      ),
    };
  };
}

/**
 * The cursor after a page: the last row shown when there are more rows than the page holds, the end of the
 * scanned ids when the scan stopped short of the range's end (a page may then hold fewer rows than asked, even
 * none), null when the range is done.
 */
function nextCursor(ids: readonly number[], limit: number, scannedThrough: number, end: number): number | null {
  if (ids.length > limit) return ids[limit - 1]!;
  return scannedThrough < end ? scannedThrough : null;
}
