// fleet db: maintenance of the fleet database, one subcommand each (check, stats, vacuum).
import { dispatch, parseCli, required } from '../../../shared/src/index.js';
import { loadFleetConfig } from '../config.js';
import { integrityProblems } from '../db/integrity.js';
import { dbStats, type DbStats } from '../db/stats.js';
import { vacuumDb } from '../db/vacuum.js';
import { FleetError } from '../errors.js';
import { fleetPaths, lockDataDir, openFleetDb } from '../fleet/data-dir.js';
import { folderKey, STORAGE_KEY_HELP, STORAGE_KEY_OPTION } from './storage-key.js';
import { renderTable } from './table.js';

const HELP = `fleet db <command> --data DIR   (every command has --help)

  check   SQLite's full integrity check of the fleet database (read only; safe while the server runs)
  stats   rows and bytes per table, free space, the WAL, the telemetry's span, retention (read only)
  vacuum  gives the database's free pages back to the disk (the server must be stopped)`;

const CHECK_HELP = `fleet db check --data DIR [--json]

Runs SQLite's full integrity check (PRAGMA integrity_check) on DIR/fleet.db: every page, record and index.
The fleet server runs the quicker quick_check each time it starts. It only reads, so it is safe while the
server runs. Exits 0 when the database is intact, 1 (FLEET_DB_CORRUPT) with the problems found when it is not;
what to do then is in docs/operations.md.

  --json   print {"ok", "file", "check", "problems"} on stdout (also when the check fails)
${STORAGE_KEY_HELP}`;

const STATS_HELP = `fleet db stats --data DIR [--config FILE] [--json]

What DIR/fleet.db holds: rows and bytes per table (with its indexes), the free pages inside the file, the WAL,
when the oldest and the newest stored telemetry sample arrived, and the retention that applies. It only reads,
so it is safe while the server runs; it reads every page, so on a large database it takes a while.

  --config FILE   the server's configuration file, for its retention (without it: the defaults)
  --json          print the figures as JSON on stdout
${STORAGE_KEY_HELP}`;

const VACUUM_HELP = `fleet db vacuum --data DIR [--json]

Rewrites DIR/fleet.db without its free pages, giving them back to the disk. Retention deletes old rows, which
leaves free pages that new rows reuse: the file stops growing but does not shrink until it is vacuumed.

The server must be stopped: VACUUM needs the database to itself. It is refused (FLEET_DATA_IN_USE) while a fleet
server holds DIR or any other process has the database open, and (FLEET_DB_FULL) when the disk has less free
space than about twice the database's pages in use (the compact copy is built in DIR, then written back). A
failure part-way leaves the database as it was.

  --json   print {"file", "beforeBytes", "afterBytes"} on stdout
${STORAGE_KEY_HELP}`;

/** Most problems listed: the first ones say what is damaged; thousands more would say nothing new. */
const MAX_PROBLEMS = 100;

export function dbCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { check: checkCommand, stats: statsCommand, vacuum: vacuumCommand }, HELP);
}

async function checkCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    { data: { type: 'string' }, json: { type: 'boolean' }, ...STORAGE_KEY_OPTION },
    CHECK_HELP,
  );
  const dir = required(values.data, '--data');
  const file = fleetPaths(dir).db;
  const db = openFleetDb(dir, { readonly: true, storageKey: folderKey(dir, values['storage-key']) });
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

async function statsCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    { data: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' }, ...STORAGE_KEY_OPTION },
    STATS_HELP,
  );
  const dir = required(values.data, '--data');
  const { retention } = loadFleetConfig(values.config); // a bad file is refused before the database is read
  const db = openFleetDb(dir, { readonly: true, storageKey: folderKey(dir, values['storage-key']) });
  let stats: DbStats;
  try {
    stats = dbStats(db);
  } finally {
    db.close();
  }
  const source = values.config ?? 'defaults';
  if (values.json) {
    const at = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const telemetry = {
      ...stats.telemetry,
      oldestReceivedAt: at(stats.telemetry.oldestReceivedAt),
      newestReceivedAt: at(stats.telemetry.newestReceivedAt),
    };
    process.stdout.write(`${JSON.stringify({ ...stats, telemetry, retention: { ...retention, source } }, null, 2)}\n`);
    return 0;
  }
  const t = stats.telemetry;
  const span =
    t.oldestReceivedAt === null
      ? 'none stored'
      : `received ${new Date(t.oldestReceivedAt).toISOString()} … ${new Date(t.newestReceivedAt!).toISOString()}`;
  const kept = (v: number | null, unit: string) => (v === null ? 'all kept' : `${v} ${unit}`);
  const from = values.config ? `from ${values.config}` : "the defaults: pass the server's --config for its own";
  const free = stats.freeBytes > 0 ? ' (reused by new rows; `fleet db vacuum` gives it back to the disk)' : '';
  process.stdout.write(
    [
      `fleet db stats: ${stats.file}`,
      `  file       ${bytes(stats.fileBytes)} (${stats.pageSize}-byte pages), ${bytes(stats.freeBytes)} free${free}`,
      `  WAL        ${bytes(stats.walBytes)}`,
      `  telemetry  ${t.samples} samples, ${span}; ${t.prunedStreams} streams pruned by retention`,
      `  retention  telemetry ${kept(retention.telemetryDays, 'days')}, exposure reports ` +
        `${kept(retention.reportsPerDevice, 'per device')} (${from})`,
      '',
      renderTable(
        ['table', 'rows', 'size'],
        stats.tables.map((x) => [x.name, x.rows, bytes(x.bytes)]),
      ),
    ].join('\n'),
  );
  return 0;
}

async function vacuumCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    { data: { type: 'string' }, json: { type: 'boolean' }, ...STORAGE_KEY_OPTION },
    VACUUM_HELP,
  );
  const dir = required(values.data, '--data');
  const storageKey = folderKey(dir, values['storage-key']);
  const root = fleetPaths(dir).root;
  // SQLite builds VACUUM's copy in its temporary folder, read once when SQLite starts (the first database this
  // process opens, just below): the data folder, so the space it needs is on the disk vacuumDb checks.
  process.env.SQLITE_TMPDIR = root;
  // An uninitialised folder or a lost database is refused here, before the lock.
  const db = openFleetDb(dir, { storageKey });
  try {
    let lock: { release(): void };
    try {
      lock = lockDataDir(dir);
    } catch (err) {
      if (!(err instanceof FleetError && err.code === 'FLEET_DATA_IN_USE')) throw err;
      throw new FleetError(
        'FLEET_DATA_IN_USE',
        `a fleet server is running on ${root}: stop it, run \`fleet db vacuum\`, then start it again (VACUUM ` +
          'needs the database to itself)',
        { cause: err },
      );
    }
    try {
      process.stderr.write(`fleet db vacuum: rewriting ${db.name}; this takes a while on a large database\n`);
      const r = vacuumDb(db);
      if (values.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else
        process.stdout.write(
          `fleet db vacuum: ${r.file} ${bytes(r.beforeBytes)} → ${bytes(r.afterBytes)} ` +
            `(${bytes(Math.max(0, r.beforeBytes - r.afterBytes))} given back to the disk)\n`,
        );
    } finally {
      lock.release();
    }
  } finally {
    db.close();
  }
  return 0;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
