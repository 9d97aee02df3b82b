// The operator audit trail: every change made through the API or the CLI, who made it, on what, from where and
// how it ended. Append only (triggers refuse UPDATE and DELETE); the API only ever reads it.
import type { Db } from './open.js';

export type AuditOutcome = 'ok' | 'denied' | 'failed';

export interface OperatorAuditEntry {
  readonly operator: string;
  readonly role?: string | null;
  /** What was done, as `object.verb`: `device.revoke`, `operator.add`, `command.submit`. */
  readonly action: string;
  readonly objectType?: string | null;
  readonly objectId?: string | null;
  readonly address?: string | null;
  readonly via: 'api' | 'cli';
  readonly outcome: AuditOutcome;
  /** The HTTP status of an API request. */
  readonly status?: number | null;
  readonly detail?: Record<string, unknown> | null;
}

export interface OperatorAuditRow extends Omit<OperatorAuditEntry, 'detail'> {
  readonly id: number;
  readonly at: string;
  readonly detail: Record<string, unknown> | null;
}

interface Row {
  id: number;
  at: number;
  operator: string;
  role: string | null;
  action: string;
  object_type: string | null;
  object_id: string | null;
  address: string | null;
  via: 'api' | 'cli';
  outcome: AuditOutcome;
  status: number | null;
  detail: string | null;
}

export type OperatorAudit = ReturnType<typeof createOperatorAudit>;

export function createOperatorAudit(db: Db, now: () => number = Date.now) {
  const insert = db.prepare(
    `INSERT INTO operator_audit (at, operator, role, action, object_type, object_id, address, via, outcome, status,
       detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const page = db.prepare(
    `SELECT * FROM operator_audit WHERE id < @before AND (@operator IS NULL OR operator = @operator)
       AND (@action IS NULL OR action = @action) ORDER BY id DESC LIMIT @limit`,
  );
  return {
    record(e: OperatorAuditEntry): number {
      const detail = e.detail ? JSON.stringify(e.detail) : null;
      const r = insert.run(
        now(),
        e.operator,
        e.role ?? null,
        e.action,
        e.objectType ?? null,
        e.objectId ?? null,
        e.address ?? null,
        e.via,
        e.outcome,
        e.status ?? null,
        detail,
      );
      return Number(r.lastInsertRowid);
    },
    /** Newest first; `before` is the id to page below (the previous page's last id). */
    page(q: { before?: number; limit: number; operator?: string; action?: string }): OperatorAuditRow[] {
      const rows = page.all({
        before: q.before ?? Number.MAX_SAFE_INTEGER,
        limit: q.limit,
        operator: q.operator ?? null,
        action: q.action ?? null,
      }) as Row[];
      return rows.map((r) => ({
        id: r.id,
        at: new Date(r.at).toISOString(),
        operator: r.operator,
        role: r.role,
        action: r.action,
        objectType: r.object_type,
        objectId: r.object_id,
        address: r.address,
        via: r.via,
        outcome: r.outcome,
        status: r.status,
        detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
      }));
    },
  };
}
