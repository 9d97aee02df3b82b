// The keys of API tokens (api/access-tokens.ts). A row with its private half is a signing key this server made: the
// newest signs, the others verify until their last token has expired. A row without one only verifies: a key held
// elsewhere (an HSM, another node of a cluster), published so that its tokens are accepted here (migration 20).
import type { Db } from './open.js';

/** 16 hex digits: a database key's random id, or an HSM key's (the first 8 bytes of SHA-256 of its public key). */
export const TOKEN_KID_PATTERN = /^[0-9a-f]{16}$/;

export interface TokenVerifyKey {
  readonly kid: string;
  /** SPKI PEM of the Ed25519 public key. */
  readonly publicKey: string;
  /** ms since the epoch. */
  readonly createdAt: number;
}

export interface TokenSigningKey extends TokenVerifyKey {
  /** PKCS#8 PEM. */
  readonly privateKey: string;
}

interface KeyRow {
  kid: string;
  private_key: string | null;
  public_key: string;
  created_at: number;
}

const verifyKeyOf = (r: KeyRow): TokenVerifyKey => ({ kid: r.kid, publicKey: r.public_key, createdAt: r.created_at });

export type TokenKeys = ReturnType<typeof createTokenKeys>;

export function createTokenKeys(db: Db) {
  const newest = db.prepare(
    `SELECT * FROM token_keys WHERE private_key IS NOT NULL ORDER BY created_at DESC, kid DESC LIMIT 1`,
  );
  const byKid = db.prepare(`SELECT * FROM token_keys WHERE kid = ?`);
  const insert = db.prepare(`INSERT INTO token_keys (kid, private_key, public_key, created_at) VALUES (?, ?, ?, ?)`);
  // A published key's time moves forward when it is published again; a key made here (with its private half) keeps
  // the time it was made, which decides its rotation.
  const publish = db.prepare(
    `INSERT INTO token_keys (kid, public_key, created_at) VALUES (?, ?, ?)
       ON CONFLICT (kid) DO UPDATE SET created_at = excluded.created_at
       WHERE token_keys.private_key IS NULL AND token_keys.public_key = excluded.public_key
         AND token_keys.created_at < excluded.created_at`,
  );
  const prune = db.prepare(`DELETE FROM token_keys WHERE created_at < ? AND kid != ?`);
  const prunePublished = db.prepare(`DELETE FROM token_keys WHERE created_at < ? AND private_key IS NULL`);
  return {
    /** The newest key this server holds the private half of. */
    newest(): TokenSigningKey | undefined {
      const r = newest.get() as (KeyRow & { private_key: string }) | undefined;
      return r && { ...verifyKeyOf(r), privateKey: r.private_key };
    },
    add(k: TokenSigningKey): void {
      insert.run(k.kid, k.privateKey, k.publicKey, k.createdAt);
    },
    get(kid: string): TokenVerifyKey | undefined {
      const r = byKid.get(kid) as KeyRow | undefined;
      return r && verifyKeyOf(r);
    },
    /** A verification key made elsewhere; a kid known already keeps its first key (see TokenKeyStore.publish). */
    publish(k: TokenVerifyKey): void {
      publish.run(k.kid, k.publicKey, k.createdAt);
    },
    /** Deletes the keys made (or last published) before `before`, but never `keep` (the signing key). */
    prune(before: number, keep: string): number {
      return prune.run(before, keep).changes;
    },
    /** Deletes the keys published here (made elsewhere) that were last published before `before`. */
    prunePublished(before: number): number {
      return prunePublished.run(before).changes;
    },
  };
}
