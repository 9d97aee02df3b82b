// The append-only security event log (authentication failures, ACL denials, revocations, …).
import type { Db } from './open.js';

export interface AuditEvent {
  readonly event: string;
  readonly deviceId?: string | null;
  readonly address?: string | null;
  readonly actor?: string | null;
  readonly detail?: Record<string, unknown> | string | null;
}

export interface AuditRow {
  id: number;
  at: string;
  event: string;
  deviceId: string | null;
  address: string | null;
  actor: string | null;
  detail: unknown;
}

export type AuditLog = ReturnType<typeof createAuditLog>;

export function createAuditLog(db: Db, now: () => number = Date.now) {
  const insert = db.prepare(`INSERT INTO audit (at, event, device_id, address, actor, detail) VALUES (?, ?, ?, ?, ?, ?)`);
  const recent = db.prepare(`SELECT * FROM audit WHERE (@event IS NULL OR event = @event) ORDER BY id DESC LIMIT @limit`);
  return {
    record(e: AuditEvent): void {
      const detail = e.detail === undefined || e.detail === null ? null : typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail);
      insert.run(now(), e.event, e.deviceId ?? null, e.address ?? null, e.actor ?? null, detail);
    },
    recent(limit = 100, event: string | null = null): AuditRow[] {
      return (recent.all({ event, limit }) as { id: number; at: number; event: string; device_id: string | null; address: string | null; actor: string | null; detail: string | null }[]).map((r) => ({
        id: r.id,
        at: new Date(r.at).toISOString(),
        event: r.event,
        deviceId: r.device_id,
        address: r.address,
        actor: r.actor,
        detail: r.detail && r.detail.startsWith('{') ? JSON.parse(r.detail) : r.detail,
      }));
    },
  };
}
