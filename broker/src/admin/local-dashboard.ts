// What the dashboard's overview reads that no list offers: the device counts, the certificates expiring soon, and
// telemetry and security events per hour; and the one-time login links (`fleet dashboard link`). Each answer is
// a handful of aggregate queries, so the overview costs the same at 10 devices or 10,000. On a cluster on
// PostgreSQL the same overview reads the store (overviewOf over admin/store-reads.ts).
import type { Db } from '../db/open.js';
import { createArrivalCounts } from '../db/arrival-order.js';
import { createRegistry } from '../db/registry.js';
import type { ExpiringCertificate } from '../store/types.js';
import { createDashboardSessions } from '../db/dashboard-sessions.js';
import { createOperatorStore } from '../db/operators.js';
import { FleetError } from '../errors.js';
import type { DashboardAdmin, FleetOverview } from './types.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
export const MAX_HOURS = 168;
/** The overview lists at most this many of the certificates expiring soonest. */
const SOONEST = 10;

/** What the overview reads, from the server's database or the cluster's store (admin/store-reads.ts). */
export interface OverviewSource {
  counts(): Promise<{ total: number; active: number; revoked: number; online: number }>;
  expiring(until: number, limit: number): Promise<{ count: number; soonest: ExpiringCertificate[] }>;
  /** Samples and security events received in each period (the last open-ended). */
  telemetryPerPeriod(starts: readonly number[]): Promise<number[]>;
  eventsPerPeriod(starts: readonly number[]): Promise<number[]>;
}

/** The overview and the per-hour counts: the same for every caller (device-limited tokens may not read them). */
export function overviewOf(source: OverviewSource, now: () => number, expiringWithinDays: number) {
  /** The last `hours` whole hours and the current one, oldest first. */
  const hourStarts = (hours: number) => {
    const current = Math.floor(now() / HOUR) * HOUR;
    return Array.from({ length: hours + 1 }, (_, i) => current - (hours - i) * HOUR);
  };
  return {
    async overview(): Promise<FleetOverview> {
      const at = now();
      const d = await source.counts();
      const { count, soonest } = await source.expiring(at + expiringWithinDays * DAY, SOONEST);
      return {
        at: new Date(at).toISOString(),
        devices: { ...d, offline: d.active - d.online },
        certificates: {
          withinDays: expiringWithinDays,
          expiring: count,
          soonest: soonest.map((c) => ({ ...c, notAfter: new Date(c.notAfter).toISOString() })),
        },
      };
    },
    async telemetryPerHour(hours: number) {
      const starts = hourStarts(hours);
      const counts = await source.telemetryPerPeriod(starts);
      return starts.map((s, i) => ({ hour: new Date(s).toISOString(), samples: counts[i]! }));
    },
    async eventsPerHour(hours: number) {
      const starts = hourStarts(hours);
      const counts = await source.eventsPerPeriod(starts);
      return starts.map((s, i) => ({ hour: new Date(s).toISOString(), events: counts[i]! }));
    },
  };
}

export function localDashboard(deps: { db: Db; now: () => number; expiringWithinDays: number }) {
  const { db, now } = deps;
  const registry = createRegistry(db);
  // The tables are in arrival order, so an hour's rows are the ids between two binary searches (arrival-order.ts).
  const telemetryCounts = createArrivalCounts(db, 'telemetry');
  const eventCounts = createArrivalCounts(db, 'audit');
  const operators = createOperatorStore(db, now);
  const sessions = createDashboardSessions(db, now);
  const reads = overviewOf(
    {
      counts: async () => registry.counts(),
      expiring: async (until, limit) => registry.expiring(until, limit),
      telemetryPerPeriod: async (starts) => telemetryCounts(starts),
      eventsPerPeriod: async (starts) => eventCounts(starts),
    },
    now,
    deps.expiringWithinDays,
  );

  const admin: DashboardAdmin = {
    ...reads,
    async link(operatorName) {
      const op = operators.byName(operatorName);
      if (!op) throw new FleetError('FLEET_OPERATOR_UNKNOWN', `no operator ${operatorName} (fleet operator list)`);
      if (op.status !== 'active') throw new FleetError('FLEET_OPERATOR_INVALID', `operator ${op.name} is revoked`);
      const { secret, expiresAt } = sessions.createLink(op.id);
      return {
        operator: op.name,
        role: op.role,
        path: `/login?t=${secret}`,
        expiresAt: new Date(expiresAt).toISOString(),
      };
    },
  };
  return admin;
}
