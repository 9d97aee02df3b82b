// Reading stored telemetry: one device's samples received in a time range, a page at a time, in arrival order.
// Rows are stored in arrival order (migration 6), so the row id is the stable page key, and a time range is a
// range of ids (arrival-order.ts).
import { createArrivalSearch } from './arrival-order.js';
import type { Db } from './open.js';

export interface StoredSample {
  /** The device's own time of the sample. */
  readonly ts: string;
  /** When the fleet server received it: what `from` and `to` select on. */
  readonly receivedAt: string;
  readonly stream: string;
  readonly seq: number;
  readonly metrics: Record<string, number>;
}

export interface TelemetryPageQuery {
  readonly deviceId: string;
  /** Received at or after (ms since the epoch). */
  readonly from?: number;
  /** Received before (ms since the epoch). */
  readonly to?: number;
  /** The row id the previous page ended with. */
  readonly after?: number;
  readonly limit: number;
}

interface Row {
  id: number;
  stream: string;
  seq: number;
  device_ts: number;
  received_at: number;
  metrics: string;
}

export type TelemetryReader = ReturnType<typeof createTelemetryReader>;

export function createTelemetryReader(db: Db) {
  const firstIdReceivedFrom = createArrivalSearch(db, 'telemetry');
  // The page's ids first, from the device's sample keys alone (no table row is read for a row the page skips),
  // plus the newest rows whose keys are not written yet (telemetry_keyed); then those rows.
  const pageIds = db
    .prepare(`
      SELECT row_id AS id FROM telemetry_keys
       WHERE device_id = @device AND row_id > @after AND row_id <= @last
      UNION ALL
      SELECT id FROM telemetry
       WHERE id > max(@after, (SELECT through_id FROM telemetry_keyed)) AND id <= @last AND device_id = @device
      ORDER BY 1 LIMIT @limit`)
    .pluck();
  // The row must still be the device's: ids of rows deleted by hand are used again.
  const rowsOf = db.prepare(`
    SELECT id, stream, seq, device_ts, received_at, metrics FROM telemetry
     WHERE id IN (SELECT value FROM json_each(@ids)) AND device_id = @device ORDER BY id`);

  return {
    /**
     * Up to `limit` samples of the device, oldest first, after the `after` row id; `last` is the id of the page's
     * last row, the cursor of the next page (null when the page ends the range).
     */
    page(q: TelemetryPageQuery): { items: StoredSample[]; last: number | null } {
      const first = q.from === undefined ? 0 : firstIdReceivedFrom(q.from);
      const end = q.to === undefined ? Number.MAX_SAFE_INTEGER : firstIdReceivedFrom(q.to) - 1;
      const ids = pageIds.all({
        device: q.deviceId,
        after: Math.max(q.after ?? 0, first - 1),
        last: end,
        limit: q.limit + 1,
      }) as number[];
      const shown = ids.slice(0, q.limit);
      const rows = shown.length ? (rowsOf.all({ ids: JSON.stringify(shown), device: q.deviceId }) as Row[]) : [];
      // The id range selects the time range; checking each row again only matters after a clock step backwards.
      const inRange = (r: Row) =>
        (q.from === undefined || r.received_at >= q.from) && (q.to === undefined || r.received_at < q.to);
      return {
        items: rows.filter(inRange).map((r) => ({
          ts: new Date(r.device_ts).toISOString(),
          receivedAt: new Date(r.received_at).toISOString(),
          stream: r.stream,
          seq: r.seq,
          metrics: JSON.parse(r.metrics) as Record<string, number>,
        })),
        last: ids.length > q.limit ? shown.at(-1)! : null,
      };
    },
  };
}
