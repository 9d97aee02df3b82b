// The dashboard's one-time login links and its sessions (migration 14). A link is a random secret an operator
// gets from `fleet dashboard link`; opening it once starts a session, whose secret travels only in an HttpOnly
// cookie. Only SHA-256 hashes of either secret are stored, so a copy of the database opens nothing.
//
// States, each a column: a link is `open` (used_at null, not expired), then `used` or `expired`; a session is
// `live` (ended_at null, not expired), then `ended` (logout) or `expired`. The operator's own status is checked
// on every request by the authenticator, so revoking the operator ends its sessions at once.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from './open.js';

/** A link opens a session once, within five minutes of being made. */
export const LINK_TTL_MS = 5 * 60_000;
/** A session ends an hour after it began, the longest an API token lives; it is not extended. */
export const SESSION_TTL_MS = 60 * 60_000;
/** Random bytes in a link or session secret (base64url in the URL and the cookie). */
const SECRET_BYTES = 32;

export interface DashboardSession {
  readonly operatorId: number;
  readonly csrf: string;
  readonly expiresAt: number;
}

export type LinkRefusal = 'malformed' | 'unknown' | 'used' | 'expired';

/** What is stored of a link or session secret: its SHA-256. */
export const secretHash = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();
/** The shape of a secret this server makes; anything else is refused before it reaches the database. */
export const isSecret = (secret: string) => /^[A-Za-z0-9_-]{43}$/.test(secret);
export const newSecret = () => randomBytes(SECRET_BYTES).toString('base64url');
export const newCsrf = () => randomBytes(16).toString('base64url');

/** Why a link cannot open a session at `at` (undefined: it can). */
export function linkRefusal(
  link: { expires_at: number; used_at: number | null } | undefined,
  at: number,
): Exclude<LinkRefusal, 'malformed'> | undefined {
  if (!link) return 'unknown';
  if (link.used_at !== null) return 'used';
  if (link.expires_at <= at) return 'expired';
  return undefined;
}

export type DashboardSessions = ReturnType<typeof createDashboardSessions>;

export function createDashboardSessions(db: Db, now: () => number = Date.now) {
  const insertLink = db.prepare(
    `INSERT INTO dashboard_links (hash, operator_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
  );
  const linkByHash = db.prepare(`SELECT operator_id, expires_at, used_at FROM dashboard_links WHERE hash = ?`);
  // The one statement that spends a link: of two requests racing with the same link, one changes the row.
  const useLink = db.prepare(
    `UPDATE dashboard_links SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?`,
  );
  const insertSession = db.prepare(
    `INSERT INTO dashboard_sessions (hash, operator_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
  );
  const sessionByHash = db.prepare(
    `SELECT operator_id, csrf, expires_at FROM dashboard_sessions
      WHERE hash = ? AND ended_at IS NULL AND expires_at > ?`,
  );
  const endSession = db.prepare(`UPDATE dashboard_sessions SET ended_at = ? WHERE hash = ? AND ended_at IS NULL`);
  const pruneLinks = db.prepare(`DELETE FROM dashboard_links WHERE expires_at < ?`);
  const pruneSessions = db.prepare(`DELETE FROM dashboard_sessions WHERE expires_at < ?`);

  const redeem = db.transaction((hash: Buffer, at: number) => {
    const link = linkByHash.get(hash) as
      | { operator_id: number; expires_at: number; used_at: number | null }
      | undefined;
    if (!link) return { ok: false as const, reason: 'unknown' as const };
    const refused = linkRefusal(link, at);
    if (refused) return { ok: false as const, reason: refused, operatorId: link.operator_id };
    if (useLink.run(at, hash, at).changes !== 1) return { ok: false as const, reason: 'used' as const };
    const secret = newSecret();
    const csrf = newCsrf();
    const expiresAt = at + SESSION_TTL_MS;
    insertSession.run(secretHash(secret), link.operator_id, csrf, at, expiresAt);
    return { ok: true as const, secret, session: { operatorId: link.operator_id, csrf, expiresAt } };
  });

  return {
    /** A new one-time link secret for the operator (shown once: only its hash is kept). */
    createLink(operatorId: number): { secret: string; expiresAt: number } {
      const at = now();
      const secret = newSecret();
      insertLink.run(secretHash(secret), operatorId, at, at + LINK_TTL_MS);
      // Old rows go as new ones come: neither table grows past what a few hours of logins leave.
      pruneLinks.run(at - SESSION_TTL_MS);
      pruneSessions.run(at - SESSION_TTL_MS);
      return { secret, expiresAt: at + LINK_TTL_MS };
    },
    /** Spends a link and starts a session; refused links say why (each refusal is a security event). */
    redeem(
      secret: string,
    ):
      | { ok: true; secret: string; session: DashboardSession }
      | { ok: false; reason: LinkRefusal; operatorId?: number } {
      if (!isSecret(secret)) return { ok: false, reason: 'malformed' };
      return redeem.immediate(secretHash(secret), now());
    },
    /** The live session a cookie names, or undefined (unknown, ended or expired). */
    session(secret: string): DashboardSession | undefined {
      if (!isSecret(secret)) return undefined;
      const r = sessionByHash.get(secretHash(secret), now()) as
        | { operator_id: number; csrf: string; expires_at: number }
        | undefined;
      return r && { operatorId: r.operator_id, csrf: r.csrf, expiresAt: r.expires_at };
    },
    /** Logout: the session's cookie opens nothing from now on. */
    end(secret: string): boolean {
      return isSecret(secret) && endSession.run(now(), secretHash(secret)).changes === 1;
    },
  };
}

/** Whether a request's CSRF header matches its session's token (constant time). */
export function csrfMatches(session: DashboardSession, header: unknown): boolean {
  if (typeof header !== 'string') return false;
  const a = Buffer.from(header);
  const b = Buffer.from(session.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}
