// The fleet audit on PostgreSQL: the rows each check judges (the statements of db/fleet-audit.ts, over every node's
// devices, certificates, sessions, security events and reports), and the runs any node stored.
import { type FindingRow, type StoredAuditRun, storedRunOf } from '../../db/audit-runs.js';
import type { FleetAuditStore } from '../types.js';
import type { PgPool } from './pool.js';

export function createPgFleetAudit(pool: PgPool): FleetAuditStore {
  const rows = async <R extends object>(where: string, sql: string, params: unknown[] = []) =>
    (await pool.query<R & Record<string, unknown>>(where, sql, params)).rows as R[];
  return {
    async expiringCertificates(until) {
      const r = await rows<{ id: string; not_after: number }>(
        'fleetAudit.expiringCertificates',
        `SELECT d.id, max(c.not_after) AS not_after FROM devices d JOIN certificates c ON c.device_id = d.id AND
          c.revoked_at IS NULL
          WHERE d.status = 'active' GROUP BY d.id HAVING max(c.not_after) < $1 ORDER BY 2, 1`,
        [until],
      );
      return r.map((x) => ({ deviceId: x.id, notAfter: x.not_after }));
    },
    async revokedConnected() {
      // SQLite's UNION returns its rows sorted; the same order here (a NULL address first, as SQLite sorts it).
      const r = await rows<{ id: string; address: string | null }>(
        'fleetAudit.revokedConnected',
        `SELECT d.id, c.address FROM devices d JOIN connections c ON c.device_id = d.id AND c.disconnected_at IS NULL
          WHERE d.status = 'revoked' AND c.connected_at > coalesce(d.revoked_at, 0) - 1
         UNION SELECT d.id, d.last_address FROM devices d WHERE d.status = 'revoked' AND d.online = 1
         ORDER BY 1, 2 NULLS FIRST`,
      );
      return r.map((x) => ({ deviceId: x.id, address: x.address }));
    },
    async sharedCertificates(since, now) {
      const r = await rows<{ device_id: string; serial: string; a1: string | null; a2: string | null; at: number }>(
        'fleetAudit.sharedCertificates',
        `SELECT a.device_id, a.serial, a.address AS a1, b.address AS a2, b.connected_at AS at
           FROM connections a JOIN connections b ON b.serial = a.serial AND b.id > a.id
                                                AND b.address IS DISTINCT FROM a.address
          WHERE b.connected_at > $1 AND b.connected_at < coalesce(a.disconnected_at, $2) + 1
          ORDER BY b.connected_at DESC, b.id DESC, a.id DESC`,
        [since, now],
      );
      return r.map((x) => ({ deviceId: x.device_id, serial: x.serial, first: x.a1, second: x.a2, at: x.at }));
    },
    async takeovers(since) {
      const r = await rows<{ device_id: string; n: number; last: number }>(
        'fleetAudit.takeovers',
        `SELECT device_id, count(*) AS n, max(at) AS last FROM audit WHERE event = 'session.takeover' AND at > $1
          GROUP BY device_id ORDER BY n DESC, device_id`,
        [since],
      );
      return r.map((x) => ({ deviceId: x.device_id, count: x.n, last: x.last }));
    },
    async unseenSince(before) {
      const r = await rows<{ id: string; last_seen: number | null; created_at: number }>(
        'fleetAudit.unseenSince',
        `SELECT id, last_seen, created_at FROM devices WHERE status = 'active' AND online = 0
            AND coalesce(last_seen, created_at) < $1 ORDER BY id COLLATE "C"`,
        [before],
      );
      return r.map((x) => ({ deviceId: x.id, lastSeen: x.last_seen, createdAt: x.created_at }));
    },
    async lowExposure(below) {
      const r = await rows<{ device_id: string; score: number; grade: string; received_at: number }>(
        'fleetAudit.lowExposure',
        `SELECT r.device_id, r.score, r.grade, r.received_at FROM exposure_reports r
          WHERE r.id = (SELECT id FROM exposure_reports x WHERE x.device_id = r.device_id
                         ORDER BY received_at DESC, id DESC LIMIT 1)
            AND r.score < $1 ORDER BY r.score, r.device_id`,
        [below],
      );
      return r.map((x) => ({ deviceId: x.device_id, score: x.score, grade: x.grade, receivedAt: x.received_at }));
    },
    async saveRun(findings, at) {
      await pool.transaction('fleetAudit.saveRun', async (c) => {
        const run = await c.query<{ id: number }>(
          'INSERT INTO audit_runs (at, findings) VALUES ($1, $2) RETURNING id',
          [at, findings.length],
        );
        if (findings.length === 0) return;
        // Rows of one INSERT … SELECT take their identities in the SELECT's order: n keeps the findings' order.
        await c.query(
          `INSERT INTO audit_findings (run_id, check_id, severity, device_id, title, detail, remediation)
           SELECT $1, f.check_id, f.severity, f.device_id, f.title, f.detail, f.remediation
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                  WITH ORDINALITY AS f(check_id, severity, device_id, title, detail, remediation, k)
            ORDER BY f.k`,
          [
            run.rows[0]!.id,
            findings.map((f) => f.check),
            findings.map((f) => f.severity),
            findings.map((f) => f.deviceId),
            findings.map((f) => f.title),
            findings.map((f) => f.detail),
            findings.map((f) => f.remediation),
          ],
        );
      });
    },
    async latestRun(): Promise<StoredAuditRun | undefined> {
      const [run] = await rows<{ id: number; at: number }>(
        'fleetAudit.latestRun',
        'SELECT id, at FROM audit_runs ORDER BY id DESC LIMIT 1',
      );
      if (!run) return undefined;
      const found = await rows<FindingRow>(
        'fleetAudit.latestRun',
        'SELECT check_id, severity, device_id, title, detail, remediation FROM audit_findings WHERE run_id = $1 ' +
          'ORDER BY n',
        [run.id],
      );
      return storedRunOf(run.at, found);
    },
  };
}
