// Applies the PostgreSQL store's migrations: each in its own transaction, recorded in schema_migrations, under an
// advisory lock so that nodes starting together migrate one after the other (the second finds nothing to do).
import { FleetError } from '../../errors.js';
import type { Migration } from '../../db/migrations.js';
import type { PgPool } from './pool.js';

/** The advisory lock key of migrations: any constant shared by every node and every version (never change it). */
const LOCK_KEY = '7306916388785021489';

const CREATE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at BIGINT NOT NULL)`;

export async function pgSchemaVersion(pool: PgPool): Promise<number> {
  const r = await pool.query<{ v: number | null }>(
    'schemaVersion',
    `SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0 END AS v`,
  );
  if (r.rows[0]?.v === 0) return 0;
  const m = await pool.query<{ v: number | null }>('schemaVersion', 'SELECT max(version) AS v FROM schema_migrations');
  return m.rows[0]?.v ?? 0;
}

export async function pgMigrate(pool: PgPool, migrations: readonly Migration[], now = Date.now): Promise<void> {
  const latest = migrations.at(-1)?.version ?? 0;
  const client = await pool.connect();
  try {
    // A session lock, held across the migrations' own transactions and released in finally (or with the session).
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    try {
      await client.query(CREATE);
      const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
      const current = r.rows[0]?.v ?? 0;
      if (current > latest) {
        throw new FleetError(
          'FLEET_DB_MIGRATION',
          `store schema version ${current} on ${pool.shown} is newer than this build (${latest}); upgrade edgeward`,
        );
      }
      for (const m of migrations) {
        if (m.version <= current) continue;
        try {
          await client.query('BEGIN');
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            m.version,
            m.name,
            now(),
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw new FleetError(
            'FLEET_DB_MIGRATION',
            `store migration ${m.version} (${m.name}) failed on ${pool.shown}: ${(err as Error).message}`,
            { cause: err },
          );
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {});
    }
  } finally {
    client.release();
  }
}
