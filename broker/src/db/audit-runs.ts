// Stored fleet audit runs (audit_runs, audit_findings): the latest one, as `fleet audit` printed it when it ran.
import type { AuditFinding, Severity } from '../fleet/audit-checks.js';
import type { Db } from './open.js';

export interface StoredAuditRun {
  readonly at: string;
  readonly findings: AuditFinding[];
}

/** A row of audit_findings as both engines read it. */
export interface FindingRow {
  readonly check_id: string;
  readonly severity: Severity;
  readonly device_id: string | null;
  readonly title: string;
  readonly detail: string;
  readonly remediation: string;
}

/** A stored run as `fleet audit` printed it. */
export const storedRunOf = (at: number, rows: readonly FindingRow[]): StoredAuditRun => ({
  at: new Date(at).toISOString(),
  findings: rows.map((r) => ({
    check: r.check_id,
    severity: r.severity,
    deviceId: r.device_id,
    title: r.title,
    detail: r.detail,
    remediation: r.remediation,
  })),
});

export function createAuditRuns(db: Db) {
  const latest = db.prepare('SELECT id, at FROM audit_runs ORDER BY id DESC LIMIT 1');
  const findings = db.prepare(
    `SELECT check_id, severity, device_id, title, detail, remediation FROM audit_findings WHERE run_id = ?
      ORDER BY rowid`,
  );
  const insertRun = db.prepare('INSERT INTO audit_runs (at, findings) VALUES (?, ?)');
  const insertFinding = db.prepare(
    'INSERT INTO audit_findings (run_id, check_id, severity, device_id, title, detail, remediation) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const save = db.transaction((found: readonly AuditFinding[], at: number) => {
    const runId = Number(insertRun.run(at, found.length).lastInsertRowid);
    for (const f of found) insertFinding.run(runId, f.check, f.severity, f.deviceId, f.title, f.detail, f.remediation);
  });
  return {
    /** Stores a run with its findings in one transaction, so the dashboard shows it without recomputing it. */
    save(found: readonly AuditFinding[], at: number): void {
      save(found, at);
    },
    /** The latest run with its findings in the order they were reported; undefined before the first run. */
    latest(): StoredAuditRun | undefined {
      const run = latest.get() as { id: number; at: number } | undefined;
      if (!run) return undefined;
      return storedRunOf(run.at, findings.all(run.id) as FindingRow[]);
    },
  };
}
