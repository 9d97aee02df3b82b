// Reading stored telemetry: one device's samples, or every device's, received in a time range, a page at a time, in
// arrival order. Rows are stored in arrival order (migration 6), so the row id is the stable page key, and a time
// range is a range of ids (arrival-order.ts).
import { type ArrivalPageQuery, createArrivalPage, createArrivalWindow } from './arrival-order.js';
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

/** A sample of the fleet-wide listing: the device's first. */
export interface FleetSample extends StoredSample {
  readonly deviceId: string;
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

/** A telemetry row as both store engines read it. */
export interface SampleRow {
  id: number;
  stream: string;
  seq: number;
  device_ts: number;
  received_at: number;
  metrics: string;
}

export type TelemetryReader = ReturnType<typeof createTelemetryReader>;

export const sampleOf = (r: SampleRow): StoredSample => ({
  ts: new Date(r.device_ts).toISOString(),
  receivedAt: new Date(r.received_at).toISOString(),
  stream: r.stream,
  seq: r.seq,
  metrics: JSON.parse(r.metrics) as Record<string, number>,
});

export function createTelemetryReader(db: Db) {
  // A time range as a range of ids, searched a little wide of it (the rows are then checked on their stamp).
  const window = createArrivalWindow(db, 'telemetry');
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

  const fleetRows = createArrivalPage<SampleRow & { device_id: string }>(
    db,
    'telemetry',
    'device_id, stream, seq, device_ts, received_at, metrics',
  );

  return {
    /**
     * Up to `limit` samples of every device (or of `devices`), oldest first, after the `after` row id; `last` is
     * the cursor of the next page (null when the range is done; see createArrivalPage for device-limited pages).
     */
    fleetPage(q: ArrivalPageQuery): { items: FleetSample[]; last: number | null } {
      const { rows, last } = fleetRows(q);
      return { items: rows.map((r) => ({ deviceId: r.device_id, ...sampleOf(r) })), last };
    },
    /**
     * Up to `limit` samples of the device, oldest first, after the `after` row id; `last` is the id of the page's
     * last row, the cursor of the next page (null when the page ends the range).
     */
    page(q: TelemetryPageQuery): { items: StoredSample[]; last: number | null } {
      const w = window(q);
      // The ids are searched wide of the range (stamps can cross a little along the ids), so each row is checked
      // on its stamp, and ids are read on until the page is full or the window ends: a full page is never cut
      // short by rows of the slack.
      const inRange = (r: SampleRow) =>
        (q.from === undefined || r.received_at >= q.from) && (q.to === undefined || r.received_at < q.to);
      const rows: SampleRow[] = [];
      let after = w.after;
      for (;;) {
        const ids = pageIds.all({ device: q.deviceId, after, last: w.end, limit: q.limit + 1 }) as number[];
        if (ids.length === 0) break;
        const read = rowsOf.all({ ids: JSON.stringify(ids), device: q.deviceId }) as SampleRow[];
        rows.push(...read.filter(inRange));
        if (rows.length > q.limit || ids.length <= q.limit) break;
        after = ids.at(-1)!;
      }
      const shown = rows.slice(0, q.limit);
      return { items: shown.map(sampleOf), last: rows.length > q.limit ? shown.at(-1)!.id : null };
    },
  };
}
