// Device registry: devices, their certificates, and the checks the broker makes at connect time.
import type { Db } from './open.js';
import { createDeviceKeyStore } from '../fleet/seal-keys.js';

export type DeviceStatus = 'active' | 'revoked';

export interface DeviceSummary {
  id: string;
  type: string;
  status: DeviceStatus;
  online: boolean;
  lastSeen: string | null;
  lastAddress: string | null;
  telemetryCount: number;
  /** Samples the device reported dropping from its full outbox (they never reached the fleet). */
  dropped: number;
  rejectedCount: number;
  agentVersion: string | null;
  certificateSerial: string | null;
  certificateExpires: string | null;
  createdAt: string;
}

export interface CertificateFacts {
  readonly serial: string;
  readonly fingerprint256: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export type CertificateCheck =
  | { ok: true; deviceType: string }
  | {
      ok: false;
      reason: 'unregistered' | 'revoked' | 'unknown-certificate' | 'certificate-revoked' | 'certificate-expired';
    };

/** A devices row joined with its newest certificate, as both store engines read it. */
export interface DeviceRow {
  id: string;
  device_type: string;
  status: DeviceStatus;
  online: number;
  last_seen: number | null;
  last_address: string | null;
  telemetry_count: number;
  dropped: number;
  rejected_count: number;
  agent_version: string | null;
  created_at: number;
  serial: string | null;
  not_after: number | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const deviceSummaryOf = (r: DeviceRow): DeviceSummary => ({
  id: r.id,
  type: r.device_type,
  status: r.status,
  online: r.online === 1,
  lastSeen: iso(r.last_seen),
  lastAddress: r.last_address,
  telemetryCount: r.telemetry_count,
  dropped: r.dropped,
  rejectedCount: r.rejected_count,
  agentVersion: r.agent_version,
  certificateSerial: r.serial,
  certificateExpires: iso(r.not_after),
  createdAt: new Date(r.created_at).toISOString(),
});

export type Registry = ReturnType<typeof createRegistry>;

export function createRegistry(db: Db) {
  const insertDevice = db.prepare(
    `INSERT INTO devices (id, device_type, status, created_at) VALUES (?, ?, 'active', ?)`,
  );
  const insertCert = db.prepare(
    `INSERT INTO certificates (serial, device_id, fingerprint, not_before, not_after, issued_at) ` +
      `VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const getDevice = db.prepare(`SELECT id, device_type, status FROM devices WHERE id = ?`);
  const getCert = db.prepare(`SELECT device_id, not_after, revoked_at FROM certificates WHERE serial = ?`);
  const revokeDevice = db.prepare(
    `UPDATE devices SET status = 'revoked', revoked_at = ? WHERE id = ? AND status = 'active'`,
  );
  const revokeCerts = db.prepare(`UPDATE certificates SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL`);
  const revokedIds = db.prepare(`SELECT id FROM devices WHERE status = 'revoked'`).pluck();
  const revokedSerials = db.prepare(`SELECT serial FROM certificates WHERE revoked_at IS NOT NULL`).pluck();
  const setOnline = db.prepare(
    `UPDATE devices SET online = ?, last_seen = ?, last_address = coalesce(?, last_address) WHERE id = ?`,
  );
  const allOffline = db.prepare(`UPDATE devices SET online = 0 WHERE online = 1`);
  const listRows = db.prepare(`
    SELECT d.id, d.device_type, d.status, d.online, d.last_seen, d.last_address, d.telemetry_count, d.dropped,
      d.rejected_count,
           d.agent_version, d.created_at, c.serial, c.not_after
      FROM devices d
      LEFT JOIN certificates c ON c.serial = (
        SELECT serial FROM certificates WHERE device_id = d.id ORDER BY issued_at DESC, rowid DESC LIMIT 1)
     WHERE (@id IS NULL OR d.id = @id)
     ORDER BY d.id`);

  // One page in id order, after a cursor, optionally of one status or within a set of ids (a device-limited token).
  const pageRows = db.prepare(`
    SELECT d.id, d.device_type, d.status, d.online, d.last_seen, d.last_address, d.telemetry_count, d.dropped,
           d.rejected_count, d.agent_version, d.created_at, c.serial, c.not_after
      FROM devices d
      LEFT JOIN certificates c ON c.serial = (
        SELECT serial FROM certificates WHERE device_id = d.id ORDER BY issued_at DESC, rowid DESC LIMIT 1)
     WHERE d.id > @after AND (@status IS NULL OR d.status = @status)
       AND (@ids IS NULL OR d.id IN (SELECT value FROM json_each(@ids)))
     ORDER BY d.id LIMIT @limit`);

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

  return {
    /** The dashboard's device counts. */
    counts(): { total: number; active: number; revoked: number; online: number } {
      return deviceCounts.get() as { total: number; active: number; revoked: number; online: number };
    },

    /** Active devices whose current certificate ends before `until`: how many, and the `limit` ending soonest. */
    expiring(until: number, limit: number) {
      return {
        count: expiringCount.get({ until }) as number,
        soonest: expiringSoonest.all({ until, limit }) as { deviceId: string; serial: string; notAfter: number }[],
      };
    },

    exists(id: string): boolean {
      return getDevice.get(id) !== undefined;
    },

    /** Registers a new device with its first certificate, atomically. */
    /** Registers a device with its first certificate and, when given, its sealing public key (X25519). */
    addDevice(id: string, deviceType: string, cert: CertificateFacts, now = Date.now(), sealKey?: Uint8Array): void {
      db.transaction(() => {
        insertDevice.run(id, deviceType, now);
        insertCert.run(cert.serial, id, cert.fingerprint256, cert.notBefore, cert.notAfter, now);
        if (sealKey) createDeviceKeyStore(db).add(id, sealKey, now);
      })();
    },

    addCertificate(id: string, cert: CertificateFacts, now = Date.now()): void {
      insertCert.run(cert.serial, id, cert.fingerprint256, cert.notBefore, cert.notAfter, now);
    },

    get(id: string): DeviceSummary | undefined {
      const row = listRows.get({ id }) as DeviceRow | undefined;
      return row && deviceSummaryOf(row);
    },

    /** Up to `limit` devices with an id above `after`, in id order. */
    page(q: { after?: string; limit: number; status?: DeviceStatus; ids?: readonly string[] | null }): DeviceSummary[] {
      const rows = pageRows.all({
        after: q.after ?? '',
        limit: q.limit,
        status: q.status ?? null,
        ids: q.ids ? JSON.stringify(q.ids) : null,
      }) as DeviceRow[];
      return rows.map(deviceSummaryOf);
    },

    list(): DeviceSummary[] {
      return (listRows.all({ id: null }) as DeviceRow[]).map(deviceSummaryOf);
    },

    /** Marks the device and all its certificates revoked; returns false when it was not active. */
    revoke(id: string, now = Date.now()): boolean {
      return db.transaction(() => {
        const changed = revokeDevice.run(now, id).changes > 0;
        revokeCerts.run(now, id);
        return changed;
      })();
    },

    /** The connect-time check: the certificate must be one we issued to this device, live and unrevoked. */
    checkCertificate(deviceId: string, serial: string, now = Date.now()): CertificateCheck {
      const device = getDevice.get(deviceId) as { device_type: string; status: DeviceStatus } | undefined;
      if (!device) return { ok: false, reason: 'unregistered' };
      if (device.status !== 'active') return { ok: false, reason: 'revoked' };
      const cert = getCert.get(serial) as
        | { device_id: string; not_after: number; revoked_at: number | null }
        | undefined;
      if (!cert || cert.device_id !== deviceId) return { ok: false, reason: 'unknown-certificate' };
      if (cert.revoked_at !== null) return { ok: false, reason: 'certificate-revoked' };
      if (cert.not_after < now) return { ok: false, reason: 'certificate-expired' };
      return { ok: true, deviceType: device.device_type };
    },

    /** Revokes every certificate of the device issued so far (the device itself stays active). */
    revokeCertificates(id: string, now = Date.now()): number {
      return revokeCerts.run(now, id).changes;
    },

    revokedDeviceIds(): Set<string> {
      return new Set(revokedIds.all() as string[]);
    },

    revokedSerials(): Set<string> {
      return new Set(revokedSerials.all() as string[]);
    },

    setOnline(id: string, online: boolean, address: string | null, now = Date.now()): void {
      setOnline.run(online ? 1 : 0, now, address, id);
    },

    /** After a server crash no session survives: nobody is online until they reconnect. */
    resetOnline(): void {
      allOffline.run();
    },
  };
}
