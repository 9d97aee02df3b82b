// Exposure reports of the whole fleet received in a time range, a page at a time in arrival order: each report's
// summary (device, score, grade, findings), not the report itself (a device's latest is at /devices/{id}/report).
import { createArrivalWindow, nextCursor } from './arrival-order.js';
import type { ReportSummary } from './exposure.js';
import type { Db } from './open.js';

/** A report of the fleet-wide listing: the device's first. */
export interface ReceivedReport extends ReportSummary {
  readonly deviceId: string;
}

/** A page limited to some devices scans at most this many reports (it may then come back short). */
export const REPORT_PAGE_SCAN_ROWS = 20_000;

export interface ReceivedReportsQuery {
  /** Received at or after (ms since the epoch). */
  readonly from?: number;
  /** Received before (ms since the epoch). */
  readonly to?: number;
  /** The row id the previous page ended with. */
  readonly after?: number;
  readonly limit: number;
  /** Only these devices' reports (a device-limited caller); null: every device's. */
  readonly devices: readonly string[] | null;
}

interface Row {
  id: number;
  device_id: string;
  received_at: number;
  device_ts: number;
  score: number;
  grade: string;
  findings: number;
}

export function createReceivedReports(db: Db) {
  const window = createArrivalWindow(db, 'exposure_reports');
  const rows = db.prepare(`
    SELECT id, device_id, received_at, device_ts, score, grade, findings FROM exposure_reports
     WHERE id > @after AND id <= @last AND received_at >= @from AND received_at < @to
       AND (@devices IS NULL OR device_id IN (SELECT value FROM json_each(@devices)))
     ORDER BY id LIMIT @limit`);
  /** Up to `limit` reports, oldest first; `last` is the cursor of the next page (null when the range is done). */
  return (q: ReceivedReportsQuery): { items: ReceivedReport[]; last: number | null } => {
    const w = window(q);
    const last = q.devices === null ? w.end : Math.min(w.end, w.after + REPORT_PAGE_SCAN_ROWS);
    const found = rows.all({
      after: w.after,
      last,
      from: q.from ?? 0,
      to: q.to ?? Number.MAX_SAFE_INTEGER,
      devices: q.devices === null ? null : JSON.stringify(q.devices),
      limit: q.limit + 1,
    }) as Row[];
    return {
      items: found.slice(0, q.limit).map((r) => ({
        deviceId: r.device_id,
        at: new Date(r.received_at).toISOString(),
        deviceTs: new Date(r.device_ts).toISOString(),
        score: r.score,
        grade: r.grade,
        findings: r.findings,
      })),
      last: nextCursor(
        found.map((r) => r.id),
        q.limit,
        last,
        w.end,
      ),
    };
  };
}
