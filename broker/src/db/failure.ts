// What a SQLite failure means for the fleet database — damaged, disk full, or an I/O fault — as a coded FleetError.
import { FleetError, fleetCodes, type FleetCode } from '../errors.js';

export type DbFailureCode = 'FLEET_DB_CORRUPT' | 'FLEET_DB_FULL' | 'FLEET_DB_IO';

/** The SQLite result code of an error (`SQLITE_CORRUPT`, `SQLITE_IOERR_WRITE`…), or undefined for any other error. */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** Which storage failure a SQLite result code (extended codes included) is, if any. */
export function failureCodeOf(code: string | undefined): DbFailureCode | undefined {
  if (code === undefined) return undefined;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'FLEET_DB_CORRUPT';
  if (code === 'SQLITE_FULL') return 'FLEET_DB_FULL';
  if (
    code.startsWith('SQLITE_IOERR') ||
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_READONLY') ||
    code === 'SQLITE_PERM' ||
    code === 'SQLITE_NOLFS'
  )
    return 'FLEET_DB_IO';
  return undefined;
}

const ADVICE: Readonly<Record<DbFailureCode, string>> = {
  FLEET_DB_CORRUPT:
    'keep a copy of the data folder, then restore the database from a backup (docs/operations.md); ' +
    '`fleet db check --data DIR` lists the damage',
  FLEET_DB_FULL: 'free space on that disk, or move the data folder to a larger one',
  FLEET_DB_IO: "check the disk (kernel log), the file's type and permissions, and that the file system is writable",
};

const WHAT: Readonly<Record<DbFailureCode, string>> = {
  FLEET_DB_CORRUPT: 'is damaged',
  FLEET_DB_FULL: 'cannot grow: the disk is full',
  FLEET_DB_IO: 'cannot be read or written',
};

/** A coded storage failure of `file`: what happened (`detail`) and what the operator should do. */
export function dbFailureError(code: DbFailureCode, file: string, detail: string, cause?: unknown): FleetError {
  return new FleetError(code, `${file} ${WHAT[code]} (${detail}); ${ADVICE[code]}`, {
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The storage failure `err` is, as a FleetError naming `file` and what to do; undefined when it is not one (a bug,
 * a busy database). A FleetError passes through unchanged.
 */
export function dbFailure(err: unknown, file = 'the fleet database'): FleetError | undefined {
  if (err instanceof FleetError) return err;
  const sqlite = sqliteCode(err);
  const code = failureCodeOf(sqlite);
  return code ? dbFailureError(code, file, `${sqlite}: ${(err as Error).message}`, err) : undefined;
}

/** Storage failures after which the server stops rather than go on: the database can no longer be trusted. */
export function stopsTheServer(err: unknown): err is FleetError {
  return err instanceof FleetError && (err.code === 'FLEET_DB_CORRUPT' || err.code === 'FLEET_DB_IO');
}

/** A failure that crossed from another thread as its code and message, as an error again (a FleetError if coded). */
export function failureFrom(code: string | undefined, message: string): Error {
  return code !== undefined && Object.hasOwn(fleetCodes, code)
    ? new FleetError(code as FleetCode, message)
    : new Error(message);
}
