// Exposure reports of the whole fleet received in a time range, a page at a time in arrival order: each report's
// summary (device, score, grade, findings), not the report itself (a device's latest is at /devices/{id}/report).
import { type ArrivalPageQuery, createArrivalPage } from './arrival-order.js';
import type { ReportSummary } from './exposure.js';
import type { Db } from './open.js';

/** A report of the fleet-wide listing: the device's first. */
export interface ReceivedReport extends ReportSummary {
  readonly deviceId: string;
}

/** A report's summary row (the columns both store engines read). */
export interface ReceivedRow {
  id: number;
  device_id: string;
  received_at: number;
  device_ts: number;
  score: number;
  grade: string;
  findings: number;
}

export const receivedReportOf = (r: ReceivedRow): ReceivedReport => ({
  deviceId: r.device_id,
  at: new Date(r.received_at).toISOString(),
  deviceTs: new Date(r.device_ts).toISOString(),
  score: r.score,
  grade: r.grade,
  findings: r.findings,
});

export function createReceivedReports(db: Db) {
  const page = createArrivalPage<ReceivedRow>(
    db,
    'exposure_reports',
    'device_id, received_at, device_ts, score, grade, findings',
  );
  /** Up to `limit` reports, oldest first; `last` is the cursor of the next page (null when the range is done). */
  return (q: ArrivalPageQuery): { items: ReceivedReport[]; last: number | null } => {
    const { rows, last } = page(q);
    return {
      items: rows.map(receivedReportOf),
      last,
    };
  };
}
