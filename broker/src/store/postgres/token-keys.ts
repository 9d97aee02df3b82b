// The public halves of the API token keys on PostgreSQL: every node publishes the key it signs with before its first
// token leaves, and looks up a kid it does not hold, so a token one node signed verifies on all. No private half is
// ever written here (the table has no column for one). A key no node has vouched for in a day and an hour is pruned:
// no token it signed can still be live.
import type { TokenKeyStore, TokenVerifyKey } from '../types.js';
import type { PgPool } from './pool.js';

export function createPgTokenKeys(pool: PgPool): TokenKeyStore {
  return {
    async publish(key) {
      await pool.query(
        'tokenKeys.publish',
        `INSERT INTO token_keys (kid, public_key, created_at) VALUES ($1, $2, $3)
           ON CONFLICT (kid) DO UPDATE SET created_at = EXCLUDED.created_at
           WHERE token_keys.public_key = EXCLUDED.public_key AND token_keys.created_at < EXCLUDED.created_at`,
        [key.kid, key.publicKey, key.createdAt],
      );
    },
    async prune(before) {
      return (
        (await pool.query('tokenKeys.prune', 'DELETE FROM token_keys WHERE created_at < $1', [before])).rowCount ?? 0
      );
    },
    async get(kid): Promise<TokenVerifyKey | undefined> {
      const [r] = (
        await pool.query<{ kid: string; public_key: string; created_at: number }>(
          'tokenKeys.get',
          'SELECT kid, public_key, created_at FROM token_keys WHERE kid = $1',
          [kid],
        )
      ).rows;
      return r && { kid: r.kid, publicKey: r.public_key, createdAt: r.created_at };
    },
  };
}
