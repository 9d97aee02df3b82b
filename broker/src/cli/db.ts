// fleet db: maintenance of the fleet database, one subcommand each (check).
import { dispatch, parseCli, required } from '../../../shared/src/index.js';
import { integrityProblems } from '../db/integrity.js';
import { FleetError } from '../errors.js';
import { fleetPaths, openFleetDb } from '../fleet/data-dir.js';

const HELP = `fleet db <command> --data DIR   (every command has --help)

  check   SQLite's full integrity check of the fleet database (read only; safe while the server runs)`;

const CHECK_HELP = `fleet db check --data DIR [--json]

Runs SQLite's full integrity check (PRAGMA integrity_check) on DIR/fleet.db: every page, record and index.
The fleet server runs the quicker quick_check each time it starts. It only reads, so it is safe while the
server runs. Exits 0 when the database is intact, 1 (FLEET_DB_CORRUPT) with the problems found when it is not;
what to do then is in docs/operations.md.

  --json   print {"ok", "file", "check", "problems"} on stdout (also when the check fails)`;

/** Most problems listed: the first ones say what is damaged; thousands more would say nothing new. */
const MAX_PROBLEMS = 100;

export function dbCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { check: checkCommand }, HELP);
}

async function checkCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { data: { type: 'string' }, json: { type: 'boolean' } }, CHECK_HELP);
  const dir = required(values.data, '--data');
  const file = fleetPaths(dir).db;
  const db = openFleetDb(dir, { readonly: true });
  let problems: string[];
  try {
    problems = integrityProblems(db, 'integrity_check', MAX_PROBLEMS);
  } finally {
    db.close();
  }
  const ok = problems.length === 0;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ok, file, check: 'integrity_check', problems }, null, 2)}\n`);
  } else if (ok) {
    process.stdout.write(`fleet db check: ${file} is intact (integrity_check ok)\n`);
  } else {
    process.stdout.write(`fleet db check: ${file} is damaged:\n${problems.map((p) => `  ${p}\n`).join('')}`);
  }
  if (ok) return 0;
  throw new FleetError(
    'FLEET_DB_CORRUPT',
    `${file} failed integrity_check (${problems.length}${problems.length === MAX_PROBLEMS ? ' or more' : ''} ` +
      `problem${problems.length === 1 ? '' : 's'}); keep a copy of the data folder, then restore the database ` +
      'from a backup (docs/operations.md)',
  );
}
