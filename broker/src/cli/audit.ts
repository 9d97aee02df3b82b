// fleet audit: fleet-wide security checks with severities and remediations.
import { parseCli, required, UsageError } from '../../../shared/src/index.js';
import { loadFleetConfig } from '../config.js';
import { loadCa, openFleetDb } from '../fleet/data-dir.js';
import { runFleetAudit, saveAuditRun, SEVERITY_RANK, type Severity } from '../fleet/audit-checks.js';
import { renderTable } from './table.js';

const HELP = `fleet audit --data DIR [--config FILE] [--json] [--fail-on critical|high|medium|low]

Checks the fleet: certificates expiring within 30 days, revoked devices still connected, one certificate seen
from several addresses at once, duplicate client ids, devices never or long not seen, devices whose latest
exposure score is below the threshold, and the CA's own expiry. The run is also stored in the database
(audit_runs, audit_findings). Thresholds come from the server config's "audit" section.

  --fail-on SEV   exit 3 when any finding is at least this severe (for CI and cron)`;

export async function auditCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    { data: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' }, 'fail-on': { type: 'string' } },
    HELP,
  );
  const failOn = values['fail-on'] as Severity | undefined;
  if (failOn !== undefined && !(failOn in SEVERITY_RANK))
    throw new UsageError('--fail-on must be critical, high, medium or low');
  const dir = required(values.data, '--data');
  const config = loadFleetConfig(values.config);
  const db = openFleetDb(dir);
  try {
    const now = Date.now();
    const findings = runFleetAudit({ db, config, ca: await loadCa(dir), now });
    saveAuditRun(db, findings, now);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ at: new Date(now).toISOString(), findings }, null, 2)}\n`);
    } else if (findings.length === 0) {
      process.stdout.write('fleet audit: no findings\n');
    } else {
      process.stdout.write(
        renderTable(
          ['SEVERITY', 'CHECK', 'DEVICE', 'DETAIL'],
          findings.map((f) => [f.severity.toUpperCase(), f.check, f.deviceId, f.detail]),
        ),
      );
      process.stdout.write('\nremediation:\n');
      for (const f of findings)
        process.stdout.write(`  ${f.check}${f.deviceId ? ` (${f.deviceId})` : ''}: ${f.remediation}\n`);
    }
    if (failOn && findings.some((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[failOn])) return 3;
    return 0;
  } finally {
    db.close();
  }
}
