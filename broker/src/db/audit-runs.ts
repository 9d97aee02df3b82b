// Stored fleet audit runs (audit_runs, audit_findings): the latest one, as `fleet audit` printed it when it ran.
import type { AuditFinding, Severity } from '../fleet/audit-checks.js';
import type { Db } from './open.js';

export interface StoredAuditRun {
  readonly at: string;
  readonly findings: AuditFinding[];
}

export function createAuditRuns(db: Db) {
  const latest = db.prepare('SELECT id, at FROM audit_runs ORDER BY id DESC LIMIT 1');
  const findings = db.prepare(
    `SELECT check_id, severity, device_id, title, detail, remediation FROM audit_findings WHERE run_id = ?
      ORDER BY rowid`,
  );
  return {
    /** The latest run with its findings in the order they were reported; undefined before the first run. */
    latest(): StoredAuditRun | undefined {
      const run = latest.get() as { id: number; at: number } | undefined;
      if (!run) return undefined;
      const rows = findings.all(run.id) as {
        check_id: string;
        severity: Severity;
        device_id: string | null;
        title: string;
        detail: string;
        remediation: string;
      }[];
      return {
        at: new Date(run.at).toISOString(),
        findings: rows.map((r) => ({
          check: r.check_id,
          severity: r.severity,
          deviceId: r.device_id,
          title: r.title,
          detail: r.detail,
          remediation: r.remediation,
        })),
      };
    },
  };
}
