// Engine errors as the store's typed errors: a broken constraint, a value the engine cannot hold, a timeout, an
// unreachable or refusing server. Messages name the table or reason, never a URL or its password.
import { FleetError } from '../errors.js';

const PG_CODES: Readonly<Record<string, [FleetError['code'], string]>> = {
  '23503': ['FLEET_STORE_CONSTRAINT', 'a row refers to a record that does not exist (foreign key)'],
  '23505': ['FLEET_STORE_CONSTRAINT', 'a row with this key exists already (unique)'],
  '23514': ['FLEET_STORE_CONSTRAINT', 'a value is outside what the column allows (check)'],
  '23502': ['FLEET_STORE_CONSTRAINT', 'a required value is missing (not null)'],
  P0001: ['FLEET_STORE_CONSTRAINT', 'the table refuses this change'],
  '22021': ['FLEET_STORE_VALUE', 'text holds a character PostgreSQL cannot store (NUL)'],
  '22P05': ['FLEET_STORE_VALUE', 'text holds a character PostgreSQL cannot store'],
  '22003': ['FLEET_STORE_VALUE', 'a number is out of its column range'],
  '22P02': ['FLEET_STORE_VALUE', 'a value is not of its column type'],
  '57014': ['FLEET_STORE_TIMEOUT', 'the statement ran past the statement timeout and was cancelled'],
  '28P01': ['FLEET_STORE_AUTH', 'password authentication failed'],
  '28000': ['FLEET_STORE_AUTH', 'the server refused this user or host'],
};

const NET_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'EAI_AGAIN']);

/** A typed FleetError for a PostgreSQL or network error (undefined: not one the store names). */
export function pgFailure(err: unknown, where: string): FleetError | undefined {
  if (err instanceof FleetError) return err;
  const e = err as { code?: string; table?: string; constraint?: string; message?: string };
  const known = e.code ? PG_CODES[e.code] : undefined;
  if (known) {
    const on = e.constraint ? ` (${e.constraint})` : e.table ? ` (${e.table})` : '';
    // A raised exception is one of the schema's own triggers: its text says which rule ("audit is append-only").
    const what = e.code === 'P0001' && e.message ? e.message : known[1];
    return new FleetError(known[0], `${where}: ${what}${on}`, { cause: err });
  }
  if (e.code && NET_CODES.has(e.code)) {
    return new FleetError('FLEET_STORE_UNREACHABLE', `${where}: cannot reach the PostgreSQL server (${e.code})`, {
      cause: err,
    });
  }
  if (/timeout exceeded when trying to connect|Connection terminated/i.test(e.message ?? '')) {
    return new FleetError('FLEET_STORE_UNREACHABLE', `${where}: the PostgreSQL server did not answer`, { cause: err });
  }
  return undefined;
}

/** A typed FleetError for a better-sqlite3 constraint error (undefined for any other). */
export function sqliteFailure(err: unknown, where: string): FleetError | undefined {
  if (err instanceof FleetError) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_CONSTRAINT_DATATYPE' || code === 'SQLITE_TOOBIG' || code === 'SQLITE_MISMATCH') {
    return new FleetError('FLEET_STORE_VALUE', `${where}: ${(err as Error).message}`, { cause: err });
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return new FleetError('FLEET_STORE_CONSTRAINT', `${where}: ${(err as Error).message}`, { cause: err });
  }
  if (err instanceof RangeError || err instanceof TypeError) {
    return new FleetError('FLEET_STORE_VALUE', `${where}: ${err.message}`, { cause: err });
  }
  return undefined;
}
