// The fleet audit: checks over the registry, certificates, sessions and reports, in the style of AWS IoT
// Device Defender's audit. Each finding has a severity and a remediation.
import type { FleetConfig } from '../config.js';
import type { Db } from '../db/open.js';
import type { CaBundle } from '../pki/x509.js';

export type Severity = 'critical' | 'high' | 'medium' | 'low';
export const SEVERITY_RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1 };

export interface AuditFinding {
  readonly check: string;
  readonly severity: Severity;
  readonly deviceId: string | null;
  readonly title: string;
  readonly detail: string;
  readonly remediation: string;
}

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

export interface AuditContext {
  readonly db: Db;
  readonly config: FleetConfig;
  readonly ca: CaBundle;
  readonly now: number;
}

function certificatesExpiring({ db, config, now }: AuditContext): AuditFinding[] {
  const horizon = now + config.audit.expiringWithinDays * DAY;
  const rows = db
    .prepare(
      `SELECT d.id, max(c.not_after) AS not_after FROM devices d JOIN certificates c ON c.device_id = d.id AND
        c.revoked_at IS NULL
        WHERE d.status = 'active' GROUP BY d.id HAVING max(c.not_after) < ? ORDER BY 2`,
    )
    .all(horizon) as { id: string; not_after: number }[];
  return rows.map((r) => ({
    check: 'cert-expiring',
    severity: r.not_after < now ? 'high' : r.not_after < now + 7 * DAY ? 'high' : 'medium',
    deviceId: r.id,
    title:
      r.not_after < now
        ? 'device certificate expired'
        : `device certificate expires within ${config.audit.expiringWithinDays} days`,
    detail: `newest certificate of ${r.id} is valid until ${iso(r.not_after)}`,
    remediation: `re-issue it in time: fleet device renew ${r.id} --data DIR --out DIR2 (or re-enrol the device)`,
  }));
}

function revokedStillConnected({ db }: AuditContext): AuditFinding[] {
  const rows = db
    .prepare(
      `SELECT DISTINCT d.id, c.address FROM devices d JOIN connections c ON c.device_id = d.id AND c.disconnected_at
        IS NULL
        WHERE d.status = 'revoked' AND c.connected_at > coalesce(d.revoked_at, 0) - 1
       UNION SELECT d.id, d.last_address FROM devices d WHERE d.status = 'revoked' AND d.online = 1`,
    )
    .all() as { id: string; address: string | null }[];
  return rows.map((r) => ({
    check: 'revoked-connected',
    severity: 'critical',
    deviceId: r.id,
    title: 'revoked device still connected',
    detail: `${r.id} is revoked but has a live session${r.address ? ` from ${r.address}` : ''}`,
    remediation:
      'the server drops revoked sessions within a second; if this persists, restart the fleet server and ' +
      'investigate the revocation watcher',
  }));
}

function certificateFromSeveralAddresses({ db, now }: AuditContext): AuditFinding[] {
  const rows = db
    .prepare(
      `SELECT a.device_id, a.serial, a.address AS a1, b.address AS a2, b.connected_at AS at
         FROM connections a JOIN connections b ON b.serial = a.serial AND b.id > a.id AND b.address IS NOT a.address
        WHERE b.connected_at > ? AND b.connected_at < coalesce(a.disconnected_at, ?) + 1
        ORDER BY b.connected_at DESC`,
    )
    .all(now - DAY, now) as { device_id: string; serial: string; a1: string | null; a2: string | null; at: number }[];
  const seen = new Set<string>();
  return rows
    .filter((r) => !seen.has(r.serial) && seen.add(r.serial))
    .map((r) => ({
      check: 'cert-multiple-addresses',
      severity: 'high',
      deviceId: r.device_id,
      title: 'one certificate used from several addresses at once',
      detail:
        `certificate ${r.serial} of ${r.device_id} was connected from ${r.a1} and ${r.a2} at the same ` +
        `time (${iso(r.at)})`,
      remediation: `treat the key as cloned: fleet device revoke ${r.device_id}, then re-enrol it with a fresh key`,
    }));
}

function duplicateClientIds({ db, now }: AuditContext): AuditFinding[] {
  const rows = db
    .prepare(
      `SELECT device_id, count(*) AS n, max(at) AS last FROM audit WHERE event = 'session.takeover' AND at > ? ` +
        `GROUP BY device_id ORDER BY n DESC`,
    )
    .all(now - DAY) as { device_id: string; n: number; last: number }[];
  return rows.map((r) => ({
    check: 'duplicate-client-id',
    severity: r.n >= 3 ? 'high' : 'medium',
    deviceId: r.device_id,
    title: 'duplicate client id: sessions taking each other over',
    detail: `${r.n} takeover(s) of ${r.device_id} in the last 24 h, the last at ${iso(r.last)}`,
    remediation: 'two agents share one identity (a copied config or cloned key); give each gateway its own enrolment',
  }));
}

function notSeen({ db, config, now }: AuditContext): AuditFinding[] {
  const limit = now - config.audit.notSeenForDays * DAY;
  const rows = db
    .prepare(
      `SELECT id, last_seen, created_at FROM devices WHERE status = 'active' AND online = 0 AND ` +
        `coalesce(last_seen, created_at) < ? ORDER BY id`,
    )
    .all(limit) as {
    id: string;
    last_seen: number | null;
    created_at: number;
  }[];
  return rows.map((r) =>
    r.last_seen === null
      ? {
          check: 'device-never-seen',
          severity: 'low',
          deviceId: r.id,
          title: 'device registered but never connected',
          detail: `${r.id} was registered ${iso(r.created_at)} and has never connected`,
          remediation: `install the agent on it, or revoke the unused identity: fleet device revoke ${r.id}`,
        }
      : {
          check: 'device-not-seen',
          severity: 'medium',
          deviceId: r.id,
          title: `device not seen for ${config.audit.notSeenForDays} days`,
          detail: `${r.id} was last seen ${iso(r.last_seen)}`,
          remediation: 'check the gateway and its uplink; revoke it if it was decommissioned',
        },
  );
}

function exposureBelowThreshold({ db, config }: AuditContext): AuditFinding[] {
  const hasReports = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'exposure_reports'`).get();
  if (!hasReports) return [];
  const rows = db
    .prepare(
      `SELECT r.device_id, r.score, r.grade, r.received_at FROM exposure_reports r
        WHERE r.id = (SELECT id FROM exposure_reports x WHERE x.device_id = r.device_id ORDER BY received_at DESC, id
          DESC LIMIT 1)
          AND r.score < ? ORDER BY r.score`,
    )
    .all(config.audit.minExposureScore) as { device_id: string; score: number; grade: string; received_at: number }[];
  return rows.map((r) => ({
    check: 'exposure-score-low',
    severity: r.score < 40 ? 'high' : 'medium',
    deviceId: r.device_id,
    title: `exposure score below ${config.audit.minExposureScore}`,
    detail: `latest exposure report of ${r.device_id}: score ${r.score} (grade ${r.grade}) at ${iso(r.received_at)}`,
    remediation: `see the findings: fleet report ${r.device_id} --data DIR, and fix them on the gateway`,
  }));
}

function caExpiry({ ca, config, now }: AuditContext): AuditFinding[] {
  const notAfter = ca.cert.notAfter.getTime();
  if (notAfter > now + config.audit.caExpiringWithinDays * DAY) return [];
  return [
    {
      check: 'ca-expiring',
      severity: notAfter < now ? 'critical' : 'high',
      deviceId: null,
      title: notAfter < now ? 'fleet CA expired' : `fleet CA expires within ${config.audit.caExpiringWithinDays} days`,
      detail: `the fleet CA certificate is valid until ${iso(notAfter)}`,
      remediation:
        'plan a CA rollover: issue a new CA, distribute both CA certificates to devices, then re-issue ' +
        'device certificates',
    },
  ];
}

export const AUDIT_CHECKS = [
  certificatesExpiring,
  revokedStillConnected,
  certificateFromSeveralAddresses,
  duplicateClientIds,
  notSeen,
  exposureBelowThreshold,
  caExpiry,
] as const;

export function runFleetAudit(ctx: AuditContext): AuditFinding[] {
  return AUDIT_CHECKS.flatMap((check) => check(ctx)).sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || (a.deviceId ?? '').localeCompare(b.deviceId ?? ''),
  );
}

/** Stores a run so the dashboard shows the latest audit without recomputing it. */
export function saveAuditRun(db: Db, findings: readonly AuditFinding[], at: number): number {
  return db.transaction(() => {
    const runId = Number(
      db.prepare('INSERT INTO audit_runs (at, findings) VALUES (?, ?)').run(at, findings.length).lastInsertRowid,
    );
    const insert = db.prepare(
      'INSERT INTO audit_findings (run_id, check_id, severity, device_id, title, detail, remediation) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    for (const f of findings) insert.run(runId, f.check, f.severity, f.deviceId, f.title, f.detail, f.remediation);
    return runId;
  })();
}
