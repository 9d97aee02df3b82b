// The operator registry on PostgreSQL: rows under SQLite's column names, turned into records by db/operators.ts.
// The UNIQUE name and kid decide between nodes adding the same operator at once; the last active admin is kept by
// locking the active admins' rows in the revoking transaction, so two nodes revoking the last two cannot both win.
import type { Role } from '../../api/roles.js';
import { type OperatorRow, type OperatorStatus, toOperator } from '../../db/operators.js';
import { FleetError } from '../../errors.js';
import type { OperatorRegistryStore } from '../types.js';
import type { PgPool } from './pool.js';

export function createPgOperatorStore(pool: PgPool): OperatorRegistryStore {
  const one = async (where: string, sql: string, params: unknown[]) => {
    const [r] = (await pool.query<OperatorRow>(where, sql, params)).rows;
    return r && toOperator(r);
  };
  return {
    async add(op, now = Date.now()) {
      const r = await one(
        'operators.add',
        `INSERT INTO operators (name, kid, public_key, role, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING *`,
        [op.name, op.kid, op.publicKey, op.role, now, op.createdBy],
      );
      return r!;
    },
    byName: (name) => one('operators.byName', 'SELECT * FROM operators WHERE name = $1', [name]),
    byKid: (kid) => one('operators.byKid', 'SELECT * FROM operators WHERE kid = $1', [kid]),
    // An id beyond BIGINT from a token's claims is no operator, not a failed statement.
    byId: (id) =>
      Number.isSafeInteger(id) ? one('operators.byId', 'SELECT * FROM operators WHERE id = $1', [id]) : noOne(),
    async list() {
      const r = await pool.query<OperatorRow>('operators.list', 'SELECT * FROM operators ORDER BY name COLLATE "C"');
      return r.rows.map(toOperator);
    },
    revoke: (name, by, now = Date.now()) =>
      pool.transaction('operators.revoke', async (c) => {
        const admins = await c.query<{ name: string }>(
          `SELECT name FROM operators WHERE role = 'admin' AND status = 'active' FOR UPDATE`,
        );
        if (admins.rows.length <= 1 && admins.rows[0]?.name === name) {
          throw new FleetError('FLEET_LAST_ADMIN', `${name} is the last active admin; add another admin first`);
        }
        const r = await c.query(
          `UPDATE operators SET status = 'revoked', revoked_at = $1, revoked_by = $2
            WHERE name = $3 AND status = 'active'`,
          [now, by, name],
        );
        return r.rowCount === 1;
      }),
    async activeAdmins() {
      const r = await pool.query<{ n: number }>(
        'operators.activeAdmins',
        `SELECT count(*) AS n FROM operators WHERE role = 'admin' AND status = 'active'`,
      );
      return r.rows[0]!.n;
    },
    async current(id) {
      if (!Number.isSafeInteger(id)) return undefined;
      const r = await pool.query<{ status: OperatorStatus; role: Role }>(
        'operators.current',
        'SELECT status, role FROM operators WHERE id = $1',
        [id],
      );
      return r.rows[0];
    },
  };
}

const noOne = () => Promise.resolve(undefined);
