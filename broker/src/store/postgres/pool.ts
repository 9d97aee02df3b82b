// The PostgreSQL connection pool of the store: a statement timeout on every connection, BIGINT read as a number
// (times in ms and counts stay below 2^53), one transaction helper that retries a deadlock, and a URL shown only
// without its password.
import pg from 'pg';
import { FleetError } from '../../errors.js';
import { pgFailure } from '../failure.js';

/** A statement running longer is cancelled (FLEET_STORE_TIMEOUT): a stuck query must not hold a PUBACK for ever. */
export const STATEMENT_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** Concurrent batches may deadlock on the same devices' rows; PostgreSQL aborts one, which is simply run again. */
const RETRIES = 5;
const RETRY_CODES = new Set(['40P01', '40001']);

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID || oid === NUMERIC_OID
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** host:port/database of a postgres URL, for messages: never its user's password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

export interface PgPool {
  readonly shown: string;
  /** One statement in its own transaction, again when a deadlock aborted it. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    where: string,
    sql: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  /** Runs `fn` in one transaction (BEGIN … COMMIT), again on a deadlock; resolves after COMMIT returned. */
  transaction<T>(where: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T>;
  /** One connection for the caller's own sequence of statements (released by the caller). */
  connect(): Promise<pg.PoolClient>;
  end(): Promise<void>;
}

export interface PgPoolOptions {
  /** Connections at most (default 10). */
  readonly max?: number;
  readonly statementTimeoutMs?: number;
}

export function createPgPool(url: string, opts: PgPoolOptions = {}): PgPool {
  const shown = redactUrl(url);
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({
      connectionString: url,
      max: opts.max ?? 10,
      statement_timeout: opts.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      types,
    });
  } catch (err) {
    throw new FleetError('FLEET_STORE_URL', `cannot use the store URL ${shown}: ${(err as Error).message}`);
  }
  // An idle connection the server drops (restart, failover) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const fail = (err: unknown, where: string) => pgFailure(err, `${where} on ${shown}`) ?? err;

  return {
    shown,
    async query(where, sql, params) {
      // One statement is its own transaction: one that a deadlock aborted left nothing behind and simply runs again.
      for (let attempt = 1; ; attempt++) {
        try {
          return await pool.query(sql, params);
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (attempt < RETRIES && code && RETRY_CODES.has(code)) continue;
          throw fail(err, where);
        }
      }
    },
    async transaction(where, fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw fail(err, where);
      }
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            await client.query('BEGIN');
            const result = await fn(client);
            await client.query('COMMIT');
            return result;
          } catch (err) {
            await client.query('ROLLBACK').catch(() => {});
            const code = (err as { code?: string }).code;
            if (attempt < RETRIES && code && RETRY_CODES.has(code)) continue;
            throw fail(err, where);
          }
        }
      } finally {
        client.release();
      }
    },
    async connect() {
      try {
        return await pool.connect();
      } catch (err) {
        throw fail(err, 'connect');
      }
    },
    end: () => pool.end(),
  };
}
