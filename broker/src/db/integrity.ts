// SQLite's own consistency checks of the fleet database: quick_check when the server starts, integrity_check
// for `fleet db check`.
import { dbFailure, dbFailureError } from './failure.js';
import type { Db } from './open.js';

export type IntegrityCheck = 'quick_check' | 'integrity_check';

/**
 * What the check finds wrong, at most `max` lines; empty when the database is intact. A database too damaged to be
 * checked (SQLite stops with SQLITE_CORRUPT or SQLITE_NOTADB) gives that error as its one problem; any other
 * failure (an I/O error) is thrown.
 */
export function integrityProblems(db: Db, check: IntegrityCheck, max = 20): string[] {
  try {
    const rows = db.prepare(`PRAGMA ${check}(${max})`).pluck().all() as string[];
    if (rows.length === 1 && rows[0] === 'ok') return [];
    // A row may hold several problems, one per line.
    return rows.flatMap((r) => r.split('\n').filter((line) => line.trim() !== ''));
  } catch (err) {
    if (dbFailure(err)?.code === 'FLEET_DB_CORRUPT')
      return [`${(err as Error).message} (${(err as { code: string }).code})`];
    throw err;
  }
}

/** Throws FLEET_DB_CORRUPT, naming the first problems, when `check` finds any. */
export function assertIntact(db: Db, check: IntegrityCheck, file: string): void {
  const problems = integrityProblems(db, check, 5);
  if (problems.length === 0) return;
  throw dbFailureError('FLEET_DB_CORRUPT', file, `${check}: ${problems.join('; ').slice(0, 500)}`);
}
