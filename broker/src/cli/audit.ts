// fleet audit: fleet-wide security checks with severities and remediations.
import { parseCli, UsageError } from '../../../shared/src/index.js';
import { loadFleetConfig } from '../config.js';
import { SEVERITY_RANK, type Severity } from '../fleet/audit-checks.js';
import { renderTable } from './table.js';
import { resolveTarget, openTarget, TARGET_HELP, TARGET_OPTIONS } from './target.js';

const HELP = `fleet audit (--data DIR [--config FILE] | --server URL …) [--json] [--fail-on critical|high|medium|low]

Checks the fleet: certificates expiring within 30 days, revoked devices still connected, one certificate seen
from several addresses at once, duplicate client ids, devices never or long not seen, devices whose latest
exposure score is below the threshold, and the CA's own expiry. The run is also stored in the database
(audit_runs, audit_findings). Thresholds come from the server config's "audit" section: --config FILE with
--data; through --server, the running server's own config.

  --fail-on SEV   exit 3 when any finding is at least this severe (for CI and cron)

${TARGET_HELP}`;

export async function auditCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    { ...TARGET_OPTIONS, config: { type: 'string' }, json: { type: 'boolean' }, 'fail-on': { type: 'string' } },
    HELP,
  );
  const failOn = values['fail-on'] as Severity | undefined;
  if (failOn !== undefined && !(failOn in SEVERITY_RANK))
    throw new UsageError('--fail-on must be critical, high, medium or low');
  const target = resolveTarget(values);
  if (target.kind === 'server' && values.config !== undefined) {
    throw new UsageError("--config goes with --data; through --server the server's own config sets the thresholds");
  }
  const admin = openTarget(target, target.kind === 'data' ? { localConfig: loadFleetConfig(values.config) } : {});
  try {
    const { at, findings } = await admin.fleetAudit.run();
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ at, findings }, null, 2)}\n`);
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
    admin.close();
  }
}
