// What the dashboard's overview reads that no list offers: the device counts, the certificates expiring soon, and
// telemetry and security events per hour; and the one-time login links (`fleet dashboard link`). Each answer is
// a handful of aggregate queries, so the overview costs the same at 10 devices or 10,000. On a cluster on
// PostgreSQL the same overview reads the store, and links are made there (any node opens them).
import type { FleetStore } from '../store/types.js';
import { FleetError } from '../errors.js';
import type { DashboardAdmin, FleetOverview } from './types.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
export const MAX_HOURS = 168;
/** The overview lists at most this many of the certificates expiring soonest. */
const SOONEST = 10;

/** Where the overview's counts are read: the server's database (createSqliteStore), or the cluster's store. */
type OverviewSource = Pick<FleetStore, 'registry' | 'telemetry' | 'audit'>;

/** The overview and the per-hour counts: the same for every caller (device-limited tokens may not read them). */
function overviewOf(source: OverviewSource, now: () => number, expiringWithinDays: number) {
  /** The last `hours` whole hours and the current one, oldest first. */
  const hourStarts = (hours: number) => {
    const current = Math.floor(now() / HOUR) * HOUR;
    return Array.from({ length: hours + 1 }, (_, i) => current - (hours - i) * HOUR);
  };
  return {
    async overview(): Promise<FleetOverview> {
      const at = now();
      const d = await source.registry.counts();
      const { count, soonest } = await source.registry.expiring(at + expiringWithinDays * DAY, SOONEST);
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
      const counts = await source.telemetry.countPerPeriod(starts);
      return starts.map((s, i) => ({ hour: new Date(s).toISOString(), samples: counts[i]! }));
    },
    async eventsPerHour(hours: number) {
      const starts = hourStarts(hours);
      const counts = await source.audit.countPerPeriod(starts);
      return starts.map((s, i) => ({ hour: new Date(s).toISOString(), events: counts[i]! }));
    },
  };
}

/** `records`: where the counts are read and the links made (the server's database, or the cluster's store). */
export function localDashboard(deps: {
  records: OverviewSource & Pick<FleetStore, 'operators' | 'dashboardSessions'>;
  now: () => number;
  expiringWithinDays: number;
}) {
  const { now, records } = deps;
  const reads = overviewOf(records, now, deps.expiringWithinDays);

  const admin: DashboardAdmin = {
    ...reads,
    async link(operatorName) {
      const op = await records.operators.byName(operatorName);
      if (!op) throw new FleetError('FLEET_OPERATOR_UNKNOWN', `no operator ${operatorName} (fleet operator list)`);
      if (op.status !== 'active') throw new FleetError('FLEET_OPERATOR_INVALID', `operator ${op.name} is revoked`);
      const { secret, expiresAt } = await records.dashboardSessions.createLink(op.id, now());
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
