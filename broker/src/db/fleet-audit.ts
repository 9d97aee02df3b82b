// The fleet audit's reads on SQLite: the rows each check of fleet/audit-checks.ts judges (the store's FleetAuditStore;
// store/postgres/fleet-audit.ts asks PostgreSQL the same).
import type { Db } from './open.js';

export interface ExpiringRow {
  readonly deviceId: string;
  /** The newest unrevoked certificate's end, ms since the epoch. */
  readonly notAfter: number;
}

export interface RevokedConnectedRow {
  readonly deviceId: string;
  readonly address: string | null;
}

/** Two sessions of one certificate from different addresses that overlapped; `at` is when the second opened. */
export interface SharedCertificateRow {
  readonly deviceId: string;
  readonly serial: string;
  readonly first: string | null;
  readonly second: string | null;
  readonly at: number;
}

export interface TakeoverRow {
  readonly deviceId: string;
  readonly count: number;
  readonly last: number;
}

export interface UnseenRow {
  readonly deviceId: string;
  readonly lastSeen: number | null;
  readonly createdAt: number;
}

export interface LowExposureRow {
  readonly deviceId: string;
  readonly score: number;
  readonly grade: string;
  readonly receivedAt: number;
}

export function createFleetAuditReads(db: Db) {
  const expiring = db.prepare(
    `SELECT d.id, max(c.not_after) AS not_after FROM devices d JOIN certificates c ON c.device_id = d.id AND
      c.revoked_at IS NULL
      WHERE d.status = 'active' GROUP BY d.id HAVING max(c.not_after) < ? ORDER BY 2`,
  );
  const revokedConnected = db.prepare(
    `SELECT DISTINCT d.id, c.address FROM devices d JOIN connections c ON c.device_id = d.id AND c.disconnected_at
      IS NULL
      WHERE d.status = 'revoked' AND c.connected_at > coalesce(d.revoked_at, 0) - 1
     UNION SELECT d.id, d.last_address FROM devices d WHERE d.status = 'revoked' AND d.online = 1`,
  );
  const shared = db.prepare(
    `SELECT a.device_id, a.serial, a.address AS a1, b.address AS a2, b.connected_at AS at
       FROM connections a JOIN connections b ON b.serial = a.serial AND b.id > a.id AND b.address IS NOT a.address
      WHERE b.connected_at > ? AND b.connected_at < coalesce(a.disconnected_at, ?) + 1
      ORDER BY b.connected_at DESC`,
  );
  const takeovers = db.prepare(
    `SELECT device_id, count(*) AS n, max(at) AS last FROM audit WHERE event = 'session.takeover' AND at > ? ` +
      `GROUP BY device_id ORDER BY n DESC`,
  );
  const unseen = db.prepare(
    `SELECT id, last_seen, created_at FROM devices WHERE status = 'active' AND online = 0 AND ` +
      `coalesce(last_seen, created_at) < ? ORDER BY id`,
  );
  const hasReports = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'exposure_reports'`);
  return {
    /** Active devices whose newest unrevoked certificate ends before `until`, soonest first. */
    expiringCertificates(until: number): ExpiringRow[] {
      const rows = expiring.all(until) as { id: string; not_after: number }[];
      return rows.map((r) => ({ deviceId: r.id, notAfter: r.not_after }));
    },
    /** Revoked devices with a session opened since the revocation still open, or still marked online. */
    revokedConnected(): RevokedConnectedRow[] {
      const rows = revokedConnected.all() as { id: string; address: string | null }[];
      return rows.map((r) => ({ deviceId: r.id, address: r.address }));
    },
    /** Overlapping sessions of one certificate from two addresses, the second opened after `since`; newest first. */
    sharedCertificates(since: number, now: number): SharedCertificateRow[] {
      const rows = shared.all(since, now) as {
        device_id: string;
        serial: string;
        a1: string | null;
        a2: string | null;
        at: number;
      }[];
      return rows.map((r) => ({ deviceId: r.device_id, serial: r.serial, first: r.a1, second: r.a2, at: r.at }));
    },
    /** Session takeovers per device after `since`, most first. */
    takeovers(since: number): TakeoverRow[] {
      const rows = takeovers.all(since) as { device_id: string; n: number; last: number }[];
      return rows.map((r) => ({ deviceId: r.device_id, count: r.n, last: r.last }));
    },
    /** Active devices offline and not seen (or, never seen, registered) before `before`, in id order. */
    unseenSince(before: number): UnseenRow[] {
      const rows = unseen.all(before) as { id: string; last_seen: number | null; created_at: number }[];
      return rows.map((r) => ({ deviceId: r.id, lastSeen: r.last_seen, createdAt: r.created_at }));
    },
    /** Devices whose latest exposure report scores below `below`, lowest first. */
    lowExposure(below: number): LowExposureRow[] {
      if (!hasReports.get()) return [];
      const rows = db
        .prepare(
          `SELECT r.device_id, r.score, r.grade, r.received_at FROM exposure_reports r
            WHERE r.id = (SELECT id FROM exposure_reports x WHERE x.device_id = r.device_id ORDER BY received_at DESC,
              id DESC LIMIT 1)
              AND r.score < ? ORDER BY r.score`,
        )
        .all(below) as { device_id: string; score: number; grade: string; received_at: number }[];
      return rows.map((r) => ({ deviceId: r.device_id, score: r.score, grade: r.grade, receivedAt: r.received_at }));
    },
  };
}
