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
    /** The fleet's posture from each device's latest report. */
    posture(worst = 10) {
      const latestIds = `SELECT max(id) FROM exposure_reports GROUP BY device_id`;
      const grades = db
        .prepare(
          `SELECT grade, count(*) AS n FROM exposure_reports WHERE id IN (${latestIds}) GROUP BY grade ORDER BY grade`,
        )
        .all() as { grade: string; n: number }[];
      const worstDevices = db
        .prepare(
          `SELECT device_id AS deviceId, score, grade, findings, received_at FROM exposure_reports WHERE id IN ` +
            `(${latestIds}) ORDER BY score, device_id LIMIT ?`,
        )
        .all(worst) as { deviceId: string; score: number; grade: string; findings: number; received_at: number }[];
      const topChecks = db
        .prepare(
          `SELECT check_id AS "check", severity, count(DISTINCT device_id) AS devices FROM exposure_findings WHERE ` +
            `report_id IN (${latestIds}) GROUP BY check_id, severity ORDER BY devices DESC, check_id LIMIT 10`,
        )
        .all() as { check: string; severity: string; devices: number }[];
      const totals = db
        .prepare(
          `SELECT count(*) AS devices, round(avg(score), 1) AS avgScore FROM exposure_reports WHERE id ` +
            `IN (${latestIds})`,
        )
        .get() as { devices: number; avgScore: number | null };
      const unreported = db
        .prepare(
          `SELECT count(*) FROM devices WHERE status = 'active' AND id NOT IN (SELECT device_id FROM exposure_reports)`,
        )
        .pluck()
        .get() as number;
      return {
        devices: totals.devices,
        unreported,
        averageScore: totals.avgScore,
        grades: Object.fromEntries(
          ['A', 'B', 'C', 'D', 'F'].map((g) => [g, grades.find((x) => x.grade === g)?.n ?? 0]),
        ),
        worst: worstDevices.map((w) => ({
          deviceId: w.deviceId,
          score: w.score,
          grade: w.grade,
          findings: w.findings,
          at: new Date(w.received_at).toISOString(),
        })),
        commonFindings: topChecks,
      };
    },
  };
}
