// The fleet audit: checks over the registry, certificates, sessions and reports, in the style of AWS IoT
// Device Defender's audit. Each finding has a severity and a remediation. The checks' rules (thresholds, severities,
// texts) are here once; the rows they judge are read by the fleet store (FleetAuditStore), on SQLite
// (db/fleet-audit.ts) or PostgreSQL (store/postgres/fleet-audit.ts), so a cluster's audit sees the whole fleet.
import type { FleetConfig } from '../config.js';
import type { CaBundle } from '../pki/x509.js';
import type { FleetAuditReads } from '../store/types.js';

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
  readonly reads: FleetAuditReads;
  readonly config: FleetConfig;
  readonly ca: CaBundle;
  readonly now: number;
}

async function certificatesExpiring({ reads, config, now }: AuditContext): Promise<AuditFinding[]> {
  const rows = await reads.expiringCertificates(now + config.audit.expiringWithinDays * DAY);
  return rows.map((r) => ({
    check: 'cert-expiring',
    severity: r.notAfter < now ? 'high' : r.notAfter < now + 7 * DAY ? 'high' : 'medium',
    deviceId: r.deviceId,
    title:
      r.notAfter < now
        ? 'device certificate expired'
        : `device certificate expires within ${config.audit.expiringWithinDays} days`,
    detail: `newest certificate of ${r.deviceId} is valid until ${iso(r.notAfter)}`,
    remediation: `re-issue it in time: fleet device renew ${r.deviceId} --data DIR --out DIR2 (or re-enrol the device)`,
  }));
}

async function revokedStillConnected({ reads }: AuditContext): Promise<AuditFinding[]> {
  const rows = await reads.revokedConnected();
  return rows.map((r) => ({
    check: 'revoked-connected',
    severity: 'critical',
    deviceId: r.deviceId,
    title: 'revoked device still connected',
    detail: `${r.deviceId} is revoked but has a live session${r.address ? ` from ${r.address}` : ''}`,
    remediation:
      'the server drops revoked sessions within a second; if this persists, restart the fleet server and ' +
      'investigate the revocation watcher',
  }));
}

async function certificateFromSeveralAddresses({ reads, now }: AuditContext): Promise<AuditFinding[]> {
  const rows = await reads.sharedCertificates(now - DAY, now);
  const seen = new Set<string>();
  return rows
    .filter((r) => !seen.has(r.serial) && seen.add(r.serial))
    .map((r) => ({
      check: 'cert-multiple-addresses',
      severity: 'high',
      deviceId: r.deviceId,
      title: 'one certificate used from several addresses at once',
      detail:
        `certificate ${r.serial} of ${r.deviceId} was connected from ${r.first} and ${r.second} at the same ` +
        `time (${iso(r.at)})`,
      remediation: `treat the key as cloned: fleet device revoke ${r.deviceId}, then re-enrol it with a fresh key`,
    }));
}

async function duplicateClientIds({ reads, now }: AuditContext): Promise<AuditFinding[]> {
  const rows = await reads.takeovers(now - DAY);
  return rows.map((r) => ({
    check: 'duplicate-client-id',
    severity: r.count >= 3 ? 'high' : 'medium',
    deviceId: r.deviceId,
    title: 'duplicate client id: sessions taking each other over',
    detail: `${r.count} takeover(s) of ${r.deviceId} in the last 24 h, the last at ${iso(r.last)}`,
    remediation: 'two agents share one identity (a copied config or cloned key); give each gateway its own enrolment',
  }));
}

async function notSeen({ reads, config, now }: AuditContext): Promise<AuditFinding[]> {
  const rows = await reads.unseenSince(now - config.audit.notSeenForDays * DAY);
  return rows.map((r) =>
    r.lastSeen === null
      ? {
          check: 'device-never-seen',
          severity: 'low',
          deviceId: r.deviceId,
          title: 'device registered but never connected',
          detail: `${r.deviceId} was registered ${iso(r.createdAt)} and has never connected`,
          remediation: `install the agent on it, or revoke the unused identity: fleet device revoke ${r.deviceId}`,
        }
      : {
          check: 'device-not-seen',
          severity: 'medium',
          deviceId: r.deviceId,
          title: `device not seen for ${config.audit.notSeenForDays} days`,
          detail: `${r.deviceId} was last seen ${iso(r.lastSeen)}`,
          remediation: 'check the gateway and its uplink; revoke it if it was decommissioned',
        },
  );
}

async function exposureBelowThreshold({ reads, config }: AuditContext): Promise<AuditFinding[]> {
  const rows = await reads.lowExposure(config.audit.minExposureScore);
  return rows.map((r) => ({
    check: 'exposure-score-low',
    severity: r.score < 40 ? 'high' : 'medium',
    deviceId: r.deviceId,
    title: `exposure score below ${config.audit.minExposureScore}`,
    detail: `latest exposure report of ${r.deviceId}: score ${r.score} (grade ${r.grade}) at ${iso(r.receivedAt)}`,
    remediation: `see the findings: fleet report ${r.deviceId} --data DIR, and fix them on the gateway`,
  }));
}

async function caExpiry({ ca, config, now }: AuditContext): Promise<AuditFinding[]> {
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

/** Every check, one after the other (one store connection at a time), findings most severe first. */
export async function runFleetAudit(ctx: AuditContext): Promise<AuditFinding[]> {
  const findings: AuditFinding[] = [];
  for (const check of AUDIT_CHECKS) findings.push(...(await check(ctx)));
  return findings.sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || (a.deviceId ?? '').localeCompare(b.deviceId ?? ''),
  );
}
