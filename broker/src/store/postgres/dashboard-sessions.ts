// The dashboard's one-time links and sessions on PostgreSQL, by the rules of db/dashboard-sessions.ts: only the
// secrets' SHA-256 hashes are stored, a link is spent by one conditional UPDATE (of two nodes redeeming it at once,
// one starts a session) in the same transaction as the session it starts, and a session ended on one node opens
// nothing on any.
import {
  isSecret,
  LINK_TTL_MS,
  linkRefusal,
  newCsrf,
  newSecret,
  SESSION_TTL_MS,
  secretHash,
} from '../../db/dashboard-sessions.js';
import type { DashboardSessionStore } from '../types.js';
import type { PgPool } from './pool.js';

export function createPgDashboardSessions(pool: PgPool): DashboardSessionStore {
  return {
    async createLink(operatorId, now = Date.now()) {
      const secret = newSecret();
      await pool.query(
        'dashboardSessions.createLink',
        'INSERT INTO dashboard_links (hash, operator_id, created_at, expires_at) VALUES ($1, $2, $3, $4)',
        [secretHash(secret), operatorId, now, now + LINK_TTL_MS],
      );
      // Old rows go as new ones come, as on SQLite: neither table grows past what a few hours of logins leave.
      await pool.query('dashboardSessions.prune', 'DELETE FROM dashboard_links WHERE expires_at < $1', [
        now - SESSION_TTL_MS,
      ]);
      await pool.query('dashboardSessions.prune', 'DELETE FROM dashboard_sessions WHERE expires_at < $1', [
        now - SESSION_TTL_MS,
      ]);
      return { secret, expiresAt: now + LINK_TTL_MS };
    },
    async redeem(secret, now = Date.now()) {
      if (!isSecret(secret)) return { ok: false, reason: 'malformed' };
      const hash = secretHash(secret);
      return pool.transaction('dashboardSessions.redeem', async (c) => {
        const spent = await c.query<{ operator_id: number }>(
          `UPDATE dashboard_links SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1
           RETURNING operator_id`,
          [now, hash],
        );
        const won = spent.rows[0];
        if (!won) {
          const [link] = (
            await c.query<{ operator_id: number; expires_at: number; used_at: number | null }>(
              'SELECT operator_id, expires_at, used_at FROM dashboard_links WHERE hash = $1',
              [hash],
            )
          ).rows;
          if (!link) return { ok: false as const, reason: 'unknown' as const };
          return { ok: false as const, reason: linkRefusal(link, now) ?? 'used', operatorId: link.operator_id };
        }
        const session = { operatorId: won.operator_id, csrf: newCsrf(), expiresAt: now + SESSION_TTL_MS };
        const opened = newSecret();
        await c.query(
          `INSERT INTO dashboard_sessions (hash, operator_id, csrf, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5)`,
          [secretHash(opened), session.operatorId, session.csrf, now, session.expiresAt],
        );
        return { ok: true as const, secret: opened, session };
      });
    },
    async session(secret, now = Date.now()) {
      if (!isSecret(secret)) return undefined;
      const [r] = (
        await pool.query<{ operator_id: number; csrf: string; expires_at: number }>(
          'dashboardSessions.session',
          `SELECT operator_id, csrf, expires_at FROM dashboard_sessions
            WHERE hash = $1 AND ended_at IS NULL AND expires_at > $2`,
          [secretHash(secret), now],
        )
      ).rows;
      return r && { operatorId: r.operator_id, csrf: r.csrf, expiresAt: r.expires_at };
    },
    async end(secret, now = Date.now()) {
      if (!isSecret(secret)) return false;
      const r = await pool.query(
        'dashboardSessions.end',
        'UPDATE dashboard_sessions SET ended_at = $1 WHERE hash = $2 AND ended_at IS NULL',
        [now, secretHash(secret)],
      );
      return r.rowCount === 1;
    },
  };
}
