// Tables whose rows are stored in arrival order and stamped with the server's clock as they arrive (telemetry,
// exposure reports): received_at does not decrease along the row id, so a time is a row id, found by binary search.
import type { Db } from './open.js';

export type ArrivalTable = 'telemetry' | 'exposure_reports';

/** The lowest row id from which every row was received at or after a time (one past the last row when none was). */
export function createArrivalSearch(db: Db, table: ArrivalTable): (at: number) => number {
  const firstAtOrAfter = db.prepare(`SELECT received_at FROM ${table} WHERE id >= ? ORDER BY id LIMIT 1`).pluck();
  const bounds = db.prepare(`SELECT coalesce(min(id), 1) AS lo, coalesce(max(id), 0) AS hi FROM ${table}`);
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
