// Exposure reports as the backend keeps them: every report whole, its findings indexed, the latest score on the device.
import type { ExposureReport } from '../../../shared/src/index.js';
import type { Db } from './open.js';

export interface ReportSummary {
  at: string;
  deviceTs: string;
  score: number;
  grade: string;
  findings: number;
}

export type ExposureStore = ReturnType<typeof createExposureStore>;

const GRADE_LETTERS = ['A', 'B', 'C', 'D', 'F'] as const;

/** Each active device's latest report, as the posture is computed from it (on either store engine). */
export interface LatestRow {
  id: number;
  deviceId: string;
  score: number;
  grade: string;
  findings: number;
  received_at: number;
}

export interface CommonFinding {
  check: string;
  severity: string;
  devices: number;
}

export interface FleetPosture {
  readonly devices: number;
  readonly unreported: number;
  readonly averageScore: number | null;
  readonly grades: Record<string, number>;
  readonly worst: { deviceId: string; score: number; grade: string; findings: number; at: string }[];
  readonly commonFindings: CommonFinding[];
}

/** The posture from the latest reports, the ten most common findings and the count of active unreported devices. */
export function postureOf(
  rows: readonly LatestRow[],
  commonFindings: CommonFinding[],
  unreported: number,
  worst: number,
): FleetPosture {
  const grades: Record<string, number> = Object.fromEntries(GRADE_LETTERS.map((g) => [g, 0]));
  let sum = 0;
  for (const r of rows) {
    grades[r.grade] = (grades[r.grade] ?? 0) + 1;
    sum += r.score;
  }
  const worstRows = [...rows]
    .sort((a, b) => a.score - b.score || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0))
    .slice(0, worst);
  return {
    devices: rows.length,
    unreported,
    averageScore: rows.length ? Math.round((sum / rows.length) * 10) / 10 : null,
    grades,
    worst: worstRows.map((w) => ({
      deviceId: w.deviceId,
      score: w.score,
      grade: w.grade,
      findings: w.findings,
      at: new Date(w.received_at).toISOString(),
    })),
    commonFindings,
  };
}

export function createExposureStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO exposure_reports (device_id, msg_id, device_ts, received_at, scoring_version, score, grade,
      categories, services, findings, report)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertFinding = db.prepare(
    `INSERT INTO exposure_findings (report_id, device_id, check_id, severity, port, title) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const setLatest = db.prepare(`UPDATE devices SET exposure_score = ?, exposure_grade = ? WHERE id = ?`);
  const latest = db.prepare(
    `SELECT report, received_at FROM exposure_reports WHERE device_id = ? ORDER BY received_at DESC, id DESC LIMIT 1`,
  );
  const history = db.prepare(
    `SELECT received_at, device_ts, score, grade, findings FROM exposure_reports WHERE device_id = ? ORDER BY ` +
      `received_at DESC, id DESC LIMIT ?`,
  );
  // Revoked devices are not part of the fleet's posture (as in the posture snapshots).
  const latestPerDevice = db.prepare(
    `SELECT r.id, r.device_id AS deviceId, r.score, r.grade, r.findings, max(r.received_at) AS received_at
       FROM exposure_reports r JOIN devices d ON d.id = r.device_id AND d.status = 'active'
      GROUP BY r.device_id`,
  );
  // A report names each check once per port: count devices, not findings.
  const checksOf = db.prepare(
    `SELECT check_id AS "check", severity, count(DISTINCT report_id) AS devices FROM exposure_findings
      WHERE report_id IN (SELECT value FROM json_each(?)) GROUP BY check_id, severity
      ORDER BY devices DESC, check_id LIMIT 10`,
  );
  const unreported = db
    .prepare(
      `SELECT count(*) FROM devices WHERE status = 'active' AND NOT EXISTS
         (SELECT 1 FROM exposure_reports WHERE device_id = devices.id)`,
    )
    .pluck();
  return {
    add(deviceId: string, r: ExposureReport, receivedAt: number): void {
      const id = Number(
        insert.run(
          deviceId,
          r.id,
          r.ts,
          receivedAt,
          r.scoringVersion,
          r.score,
          r.grade,
          JSON.stringify(r.categories),
          r.services.length,
          r.findings.length,
          JSON.stringify(r),
        ).lastInsertRowid,
      );
      for (const f of r.findings) insertFinding.run(id, deviceId, f.check, f.severity, f.port, f.title);
      setLatest.run(r.score, r.grade, deviceId);
    },
    latest(deviceId: string): { report: ExposureReport; receivedAt: string } | undefined {
      const row = latest.get(deviceId) as { report: string; received_at: number } | undefined;
      return (
        row && { report: JSON.parse(row.report) as ExposureReport, receivedAt: new Date(row.received_at).toISOString() }
      );
    },
    history(deviceId: string, limit = 50): ReportSummary[] {
      return (
        history.all(deviceId, limit) as {
          received_at: number;
          device_ts: number;
          score: number;
          grade: string;
          findings: number;
        }[]
      ).map((h) => ({
        at: new Date(h.received_at).toISOString(),
        deviceTs: new Date(h.device_ts).toISOString(),
        score: h.score,
        grade: h.grade,
        findings: h.findings,
      }));
    },
    /**
     * The fleet's posture from each active device's latest report: one pass over the reports' index for the
     * latest of each (SQLite takes the bare columns from the row of max()), then its findings by report id.
     */
    posture(worst = 10): FleetPosture {
      const rows = latestPerDevice.all() as LatestRow[];
      const topChecks = checksOf.all(JSON.stringify(rows.map((r) => r.id))) as CommonFinding[];
      return postureOf(rows, topChecks, unreported.get() as number, worst);
    },
  };
}
