// The fleet audit on the server's database: runs the checks of fleet/audit-checks.ts and stores each run.
import type { FleetConfig } from '../config.js';
import { createAuditRuns } from '../db/audit-runs.js';
import type { Db } from '../db/open.js';
import { runFleetAudit, saveAuditRun } from '../fleet/audit-checks.js';
import type { CaBundle } from '../pki/x509.js';
import type { FleetAuditAdmin } from './types.js';

export function localFleetAudit(deps: {
  db: Db;
  config: FleetConfig;
  loadCa: () => Promise<CaBundle>;
  now: () => number;
}): FleetAuditAdmin {
  const runs = createAuditRuns(deps.db);
  return {
    async run() {
      const ca = await deps.loadCa();
      const now = deps.now();
      const findings = runFleetAudit({ db: deps.db, config: deps.config, ca, now });
      saveAuditRun(deps.db, findings, now);
      return { at: new Date(now).toISOString(), findings };
    },
    async latest() {
      return runs.latest() ?? null;
    },
  };
}
