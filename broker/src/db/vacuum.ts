// VACUUM for operators (`fleet db vacuum`): rewrites the fleet database without its free pages, giving them back to
// the disk. It needs the database to itself: VACUUM rewrites every page, and no other connection may use the file
// meanwhile, so this refuses while any other process has it open rather than wait or share it.
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { FleetError } from '../errors.js';
import { dbFailure } from './failure.js';
import type { Db } from './open.js';

export interface VacuumResult {
  readonly file: string;
  readonly beforeBytes: number;
  readonly afterBytes: number;
}

/**
 * SQLite builds the compact copy in a temporary file, then writes it back through the WAL: the disk needs room for
 * both, about twice the pages in use (SQLite puts its temporary files where SQLITE_TMPDIR says: `fleet db vacuum`
 * points it at the data folder, so both are on the disk checked here).
 */
function vacuumSpaceNeeded(db: Db): number {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const used =
    (db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number);
  return 2 * used * pageSize + 1024 * 1024;
}

/**
 * Takes `db` for this connection alone (SQLite's exclusive locking mode: held until it closes), checks the disk has
 * room, runs VACUUM and empties the WAL. Refuses with FLEET_DATA_IN_USE while another connection has the file open,
 * with FLEET_DB_FULL when the disk is too small; a failure part-way leaves the database as it was (SQLite).
 */
export function vacuumDb(db: Db): VacuumResult {
  const file = db.name;
  const pageCount = () => db.pragma('page_count', { simple: true }) as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN IMMEDIATE; COMMIT'); // takes the exclusive lock: SQLITE_BUSY while another connection is open
  } catch (err) {
    if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw dbFailure(err, file) ?? err;
    throw new FleetError(
      'FLEET_DATA_IN_USE',
      `another process has ${file} open (a fleet command, sqlite3, a backup): let it finish, then run ` +
        '`fleet db vacuum` again',
      { cause: err },
    );
  }
  const beforeBytes = pageCount() * pageSize;
  const needed = vacuumSpaceNeeded(db);
  const disk = statfsSync(dirname(file));
  const free = disk.bavail * disk.bsize;
  if (free < needed) {
    throw new FleetError(
      'FLEET_DB_FULL',
      `vacuuming ${file} needs about ${mib(needed)} free on its disk (a compact copy, then the WAL that writes it ` +
        `back), but ${mib(free)} is free: free some space, or leave the database as it is (its free pages are ` +
        'reused for new rows)',
    );
  }
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (err) {
    throw dbFailure(err, file) ?? err;
  }
  return { file, beforeBytes, afterBytes: pageCount() * pageSize };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
