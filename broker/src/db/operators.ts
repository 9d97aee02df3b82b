// Operators of the management plane: who they are (an Ed25519 public key), their role, and whether they are
// still allowed in. Names and key ids are unique by schema; a revoked operator stays, for the audit trail.
import type { Role } from '../api/roles.js';
import type { Db } from './open.js';

export type OperatorStatus = 'active' | 'revoked';

export interface Operator {
  readonly id: number;
  readonly name: string;
  /** 16 hex characters: the first 8 bytes of SHA-256 of the raw public key (shared/src/crypto/key-id.ts). */
  readonly kid: string;
  /** SPKI PEM. */
  readonly publicKey: string;
  readonly role: Role;
  readonly status: OperatorStatus;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
}

export interface OperatorRow {
  id: number;
  name: string;
  kid: string;
  public_key: string;
  role: Role;
  status: OperatorStatus;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  revoked_by: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const toOperator = (r: OperatorRow): Operator => ({
  id: r.id,
  name: r.name,
  kid: r.kid,
  publicKey: r.public_key,
  role: r.role,
  status: r.status,
  createdAt: new Date(r.created_at).toISOString(),
  createdBy: r.created_by,
  revokedAt: iso(r.revoked_at),
  revokedBy: r.revoked_by,
});

export type OperatorStore = ReturnType<typeof createOperatorStore>;

export function createOperatorStore(db: Db, now: () => number = Date.now) {
  const insert = db.prepare(
    `INSERT INTO operators (name, kid, public_key, role, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const byName = db.prepare(`SELECT * FROM operators WHERE name = ?`);
  const byKid = db.prepare(`SELECT * FROM operators WHERE kid = ?`);
  const byId = db.prepare(`SELECT * FROM operators WHERE id = ?`);
  const all = db.prepare(`SELECT * FROM operators ORDER BY name`);
  const revoke = db.prepare(
    `UPDATE operators SET status = 'revoked', revoked_at = ?, revoked_by = ? WHERE name = ? AND status = 'active'`,
  );
  const activeAdmins = db.prepare(`SELECT count(*) FROM operators WHERE role = 'admin' AND status = 'active'`).pluck();
  const statusOf = db.prepare(`SELECT status, role FROM operators WHERE id = ?`);
  return {
    /** Registers an operator; the UNIQUE constraints refuse a second name or key (SQLITE_CONSTRAINT_UNIQUE). */
    add(op: { name: string; kid: string; publicKey: string; role: Role; createdBy: string }): Operator {
      const id = Number(insert.run(op.name, op.kid, op.publicKey, op.role, now(), op.createdBy).lastInsertRowid);
      return toOperator(byId.get(id) as OperatorRow);
    },
    byName: (name: string) => {
      const r = byName.get(name) as OperatorRow | undefined;
      return r && toOperator(r);
    },
    byKid: (kid: string) => {
      const r = byKid.get(kid) as OperatorRow | undefined;
      return r && toOperator(r);
    },
    byId: (id: number) => {
      const r = byId.get(id) as OperatorRow | undefined;
      return r && toOperator(r);
    },
    list: () => (all.all() as OperatorRow[]).map(toOperator),
    /** Revokes an active operator; false when there is no such active operator. */
    revoke: (name: string, by: string) => revoke.run(now(), by, name).changes === 1,
    activeAdmins: () => activeAdmins.get() as number,
    /** The operator's current status and role, read on every request so a revocation applies at once. */
    current: (id: number) => statusOf.get(id) as { status: OperatorStatus; role: Role } | undefined,
  };
}
