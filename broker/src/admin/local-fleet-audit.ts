// The fleet audit over the fleet store: runs the checks of fleet/audit-checks.ts on its records (this folder's
// database, or on a cluster the store every node shares) and stores each run there.
import type { FleetConfig } from '../config.js';
import { runFleetAudit } from '../fleet/audit-checks.js';
import type { CaBundle } from '../pki/x509.js';
import type { FleetAuditStore } from '../store/types.js';
import type { FleetAuditAdmin } from './types.js';

export function localFleetAudit(deps: {
  store: FleetAuditStore;
  config: FleetConfig;
  loadCa: () => Promise<CaBundle>;
  now: () => number;
}): FleetAuditAdmin {
  return {
    async run() {
      const ca = await deps.loadCa();
      const now = deps.now();
      const findings = await runFleetAudit({ reads: deps.store, config: deps.config, ca, now });
      await deps.store.saveRun(findings, now);
      return { at: new Date(now).toISOString(), findings };
    },
    async latest() {
      return (await deps.store.latestRun()) ?? null;
    },
  };
}
