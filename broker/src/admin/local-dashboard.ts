// What the dashboard's overview reads that no list offers: the device counts, the certificates expiring soon, and
// telemetry and security events per hour; and the one-time login links (`fleet dashboard link`). Each answer is
// a handful of aggregate queries, so the overview costs the same at 10 devices or 10,000.
import type { Db } from '../db/open.js';
import { createArrivalSearch } from '../db/arrival-order.js';
import { createDashboardSessions } from '../db/dashboard-sessions.js';
import { createOperatorStore } from '../db/operators.js';
import { FleetError } from '../errors.js';
import type { DashboardAdmin, FleetOverview } from './types.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
export const MAX_HOURS = 168;
/** The overview lists at most this many of the certificates expiring soonest. */
const SOONEST = 10;

export function localDashboard(deps: { db: Db; now: () => number; expiringWithinDays: number }) {
  const { db, now } = deps;
  const deviceCounts = db.prepare(
    `SELECT count(*) AS total, coalesce(sum(status = 'active'), 0) AS active,
            coalesce(sum(status = 'revoked'), 0) AS revoked,
            coalesce(sum(status = 'active' AND online = 1), 0) AS online
       FROM devices`,
  );
  // Each active device's newest certificate that is not revoked (the one it connects with), if it ends soon.
  const expiringFrom = `FROM devices d JOIN certificates c ON c.rowid = (
       SELECT rowid FROM certificates WHERE device_id = d.id AND revoked_at IS NULL ORDER BY issued_at DESC, rowid DESC
        LIMIT 1)
     WHERE d.status = 'active' AND c.not_after < @until`;
  const expiringCount = db.prepare(`SELECT count(*) ${expiringFrom}`).pluck();
  const expiringSoonest = db.prepare(
    `SELECT d.id AS deviceId, c.serial, c.not_after AS notAfter ${expiringFrom}
      ORDER BY c.not_after, d.id LIMIT @limit`,
  );
  const telemetryAt = createArrivalSearch(db, 'telemetry');
  const eventsAt = createArrivalSearch(db, 'audit');
  const operators = createOperatorStore(db, now);
  const sessions = createDashboardSessions(db, now);

  /**
   * Rows per hour for the last `hours` whole hours and the current one, oldest first. The tables are in arrival
   * order, so an hour's rows are the ids between two binary searches: 2 × 25 index lookups, not a scan of a day
   * of telemetry. Ids deleted inside the window (retention shorter than the window) would count as rows.
   */
  function perHour(search: (at: number) => number, hours: number): { hour: string; count: number }[] {
    const current = Math.floor(now() / HOUR) * HOUR;
    const starts = Array.from({ length: hours + 1 }, (_, i) => current - (hours - i) * HOUR);
    const ids = [...starts.map(search), search(Number.MAX_SAFE_INTEGER)];
    return starts.map((start, i) => ({ hour: new Date(start).toISOString(), count: ids[i + 1]! - ids[i]! }));
  }

  // The same for every caller: the routes are fleet-wide (a device-limited token may not use them).
  const admin: DashboardAdmin = {
    async overview() {
      const at = now();
      const d = deviceCounts.get() as { total: number; active: number; revoked: number; online: number };
      const until = at + deps.expiringWithinDays * DAY;
      const soonest = expiringSoonest.all({ until, limit: SOONEST }) as {
        deviceId: string;
        serial: string;
        notAfter: number;
      }[];
      return {
        at: new Date(at).toISOString(),
        devices: { ...d, offline: d.active - d.online },
        certificates: {
          withinDays: deps.expiringWithinDays,
          expiring: expiringCount.get({ until }) as number,
          soonest: soonest.map((c) => ({ ...c, notAfter: new Date(c.notAfter).toISOString() })),
        },
      } satisfies FleetOverview;
    },
    async telemetryPerHour(hours) {
      return perHour(telemetryAt, hours).map(({ hour, count }) => ({ hour, samples: count }));
    },
    async eventsPerHour(hours) {
      return perHour(eventsAt, hours).map(({ hour, count }) => ({ hour, events: count }));
    },
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
