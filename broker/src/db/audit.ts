// The append-only security event log (authentication failures, ACL denials, revocations, …).
import { createArrivalWindow } from './arrival-order.js';
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

/** A row of the audit table as stored. */
export interface AuditTableRow {
  id: number;
  at: number;
  event: string;
  device_id: string | null;
  address: string | null;
  actor: string | null;
  detail: string | null;
}

/** A stored row as the API and the live stream show it (detail parsed when it is a JSON object). */
export const auditRowOf = (r: AuditTableRow): AuditRow => ({
  id: r.id,
  at: new Date(r.at).toISOString(),
  event: r.event,
  deviceId: r.device_id,
  address: r.address,
  actor: r.actor,
  detail: r.detail?.startsWith('{') ? JSON.parse(r.detail) : r.detail,
});

export type AuditLog = ReturnType<typeof createAuditLog>;

export function createAuditLog(db: Db, now: () => number = Date.now) {
  const insert = db.prepare(
    `INSERT INTO audit (at, event, device_id, address, actor, detail) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const recent = db.prepare(
    `SELECT * FROM audit WHERE (@event IS NULL OR event = @event) ORDER BY id DESC LIMIT @limit`,
  );
  return {
    record(e: AuditEvent): void {
      const detail =
        e.detail === undefined || e.detail === null
          ? null
          : typeof e.detail === 'string'
            ? e.detail
            : JSON.stringify(e.detail);
      insert.run(now(), e.event, e.deviceId ?? null, e.address ?? null, e.actor ?? null, detail);
    },
    recent(limit = 100, event: string | null = null): AuditRow[] {
      return (recent.all({ event, limit }) as AuditTableRow[]).map(auditRowOf);
    },
  };
}

/**
 * Rate-limited audit recording for events an attacker can repeat at will (handshake failures, connect
 * floods, denials): the first event per key and window is written in full, the rest are counted and
 * written as one summary row, so a flood cannot fill the disk through the audit log.
 */
const reasonOf = (e: AuditEvent) => (e.detail as { reason?: string } | null | undefined)?.reason ?? '';

/**
 * Pages of the security event log, newest first: ids below `before`, recorded at or after `since`, optionally of
 * one event, one device or a set of devices. `since` becomes a range of ids first (arrival-order.ts): the page does
 * not scan the log's older rows.
 */
export function createAuditPage(db: Db) {
  const window = createArrivalWindow(db, 'audit');
  const select = db.prepare(
    `SELECT * FROM audit WHERE id < @before AND id > @after AND at >= @since AND (@event IS NULL OR event = @event)
       AND (@device IS NULL OR device_id = @device)
       AND (@visible IS NULL OR device_id IN (SELECT value FROM json_each(@visible)))
     ORDER BY id DESC LIMIT @limit`,
  );
  return (q: {
    before?: number;
    since?: number;
    event?: string | null;
    deviceId?: string | null;
    devices?: readonly string[] | null;
    limit: number;
  }): AuditRow[] =>
    (
      select.all({
        before: q.before ?? Number.MAX_SAFE_INTEGER,
        after: q.since === undefined ? 0 : window({ from: q.since }).after,
        since: q.since ?? 0,
        event: q.event ?? null,
        device: q.deviceId ?? null,
        visible: q.devices ? JSON.stringify(q.devices) : null,
        limit: q.limit,
      }) as AuditTableRow[]
    ).map(auditRowOf);
}

export function createAuditLimiter(audit: Pick<AuditLog, 'record'>, windowMs = 10_000, now: () => number = Date.now) {
  const windows = new Map<string, { until: number; suppressed: number; event: AuditEvent }>();
  function flush(all: boolean): void {
    const t = now();
    for (const [key, w] of windows) {
      if (!all && w.until > t) continue;
      windows.delete(key);
      if (w.suppressed > 0) {
        const base = typeof w.event.detail === 'object' && w.event.detail !== null ? w.event.detail : {};
        audit.record({ ...w.event, detail: { ...base, suppressed: w.suppressed, windowSeconds: windowMs / 1000 } });
      }
    }
  }
  const timer = setInterval(() => flush(false), Math.max(windowMs, 1000));
  timer.unref();
  return {
    record(e: AuditEvent, key = `${e.event}|${e.deviceId ?? ''}|${e.address ?? ''}|${reasonOf(e)}`): void {
      if (windowMs <= 0) return audit.record(e);
      const w = windows.get(key);
      if (w && w.until > now()) {
        w.suppressed++;
        return;
      }
      if (w) flush(false);
      windows.set(key, { until: now() + windowMs, suppressed: 0, event: e });
      audit.record(e);
    },
    close(): void {
      clearInterval(timer);
      flush(true);
    },
  };
}
export type AuditLimiter = ReturnType<typeof createAuditLimiter>;
