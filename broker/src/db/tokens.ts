// Enrolment tokens: only SHA-256 hashes are stored; a token is claimed at most once.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './open.js';

export const TOKEN_PATTERN = /^ewt_[A-Za-z0-9_-]{43}$/;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export type TokenClaim =
  | { ok: true; deviceType: string }
  | { ok: false; reason: 'token-invalid' | 'token-used' | 'token-expired' };

export type TokenStore = ReturnType<typeof createTokenStore>;

/** Fresh tokens in clear: 256 random bits each. */
export const newTokens = (count: number): string[] =>
  Array.from({ length: count }, () => `ewt_${randomBytes(32).toString('base64url')}`);

/** Why a token row cannot be claimed at `now` (undefined: it can). */
export function tokenRefusal(
  row: { expires_at: number; used_at: number | null } | undefined,
  now: number,
): Exclude<TokenClaim, { ok: true }>['reason'] | undefined {
  if (!row) return 'token-invalid';
  if (row.used_at !== null) return 'token-used';
  if (row.expires_at <= now) return 'token-expired';
  return undefined;
}

export function createTokenStore(db: Db) {
  const insert = db.prepare(
    'INSERT INTO enroll_tokens (hash, device_type, created_at, expires_at) VALUES (?, ?, ?, ?)',
  );
  const get = db.prepare('SELECT device_type, expires_at, used_at FROM enroll_tokens WHERE hash = ?');
  const claim = db.prepare(
    'UPDATE enroll_tokens SET used_at = ?, used_by = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?',
  );
  return {
    /** Makes `count` tokens; returns them in clear (the only time they exist in clear). */
    create(count: number, ttlMs: number, deviceType: string, now = Date.now()): { tokens: string[]; expires: number } {
      const expires = now + ttlMs;
      const tokens = newTokens(count);
      db.transaction(() => {
        for (const t of tokens) insert.run(hashToken(t), deviceType, now, expires);
      })();
      return { tokens, expires };
    },
    /** Burns the token for `deviceId` if it is valid, unused and unexpired — atomically. */
    claim(token: string, deviceId: string, now = Date.now()): TokenClaim {
      const hash = hashToken(token);
      const row = get.get(hash) as { device_type: string; expires_at: number; used_at: number | null } | undefined;
      const refused = tokenRefusal(row, now);
      if (refused) return { ok: false, reason: refused };
      // The WHERE clause makes a concurrent second claim lose.
      if (claim.run(now, deviceId, hash, now).changes !== 1) return { ok: false, reason: 'token-used' };
      return { ok: true, deviceType: row!.device_type };
    },
  };
}
