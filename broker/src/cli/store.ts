// fleet store: the fleet's record store across engines; `fleet store migrate` copies a single-node fleet (SQLite
// data folder) into a PostgreSQL store for a cluster, then checks the row counts table by table.
import { dispatch, parseCli, required, UsageError } from '../../../shared/src/index.js';
import { FleetError } from '../errors.js';
import { fleetPaths, lockDataDir, openFleetDb } from '../fleet/data-dir.js';
import { type CopyReport, copySqliteToPostgres } from '../store/copy.js';
import { pgMigrate } from '../store/postgres/migrate.js';
import { pgMigrations } from '../store/postgres/migrations.js';
import { createPgPool } from '../store/postgres/pool.js';
import { parseStoreUrl } from '../store/open-store.js';
import { folderKey, STORAGE_KEY_HELP, STORAGE_KEY_OPTION } from './storage-key.js';
import { renderTable } from './table.js';

const HELP = `fleet store <command>   (every command has --help)

  migrate   copy a single-node fleet (sqlite:DIR) into a PostgreSQL store, then compare row counts`;

const MIGRATE_HELP = `fleet store migrate --from sqlite:DIR --to postgres://USER[:PASSWORD]@HOST:PORT/DATABASE
                    [--allow-non-empty] [--json] [--storage-key FILE]

Copies the fleet's records from the data folder DIR into the PostgreSQL database (created beforehand; its schema
is made or brought up to date here): devices, certificates, sealing keys, operators, telemetry, status, rejects,
commands and their acknowledgements, exposure reports, both audit trails, firmware trust documents, releases with
their bundles (DIR/releases, into release_chunks, 1 MiB a row), rollouts with their devices and update reports,
posture snapshots, enrolment tokens, connection history and fleet audit runs. Tables are copied in foreign-key
order in one PostgreSQL transaction (a failure leaves the target as it was), from one consistent read of DIR;
then each table's rows are counted on both sides.

The fleet server on DIR must be stopped (refused with FLEET_DATA_IN_USE while one runs). The target must be empty
unless --allow-non-empty. Tables the store does not cover yet (API token keys, dashboard sessions) are
named when they hold rows. The password is never printed; it may be left out of the URL, for PGPASSWORD or
~/.pgpass to supply, as with psql.

  --allow-non-empty   copy into a target that already holds rows (their keys must not collide)
  --json              print {"from", "to", "tables", "notCopied", "ok"} on stdout
${STORAGE_KEY_HELP}

Exits 0 when every table's count matches, 1 (FLEET_STORE_COUNTS) naming the tables that differ.`;

export function storeCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { migrate: migrateCommand }, HELP);
}

function printHuman(from: string, to: string, r: CopyReport): void {
  const lines = [
    `fleet store migrate: ${from} → ${to}`,
    renderTable(
      ['table', 'source', 'copied', ''],
      r.tables.map((t) => [t.table, t.source, t.copied, t.source === t.copied ? 'ok' : 'DIFFERS']),
    ),
  ];
  if (r.notCopied.length > 0) {
    lines.push(
      `not copied (not covered by the store yet): ${r.notCopied.map((x) => `${x.table} (${x.rows})`).join(', ')}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function migrateCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    {
      from: { type: 'string' },
      to: { type: 'string' },
      'allow-non-empty': { type: 'boolean' },
      json: { type: 'boolean' },
      ...STORAGE_KEY_OPTION,
    },
    MIGRATE_HELP,
  );
  const from = parseStoreUrl(required(values.from, '--from'));
  const to = parseStoreUrl(required(values.to, '--to'));
  if (from.engine !== 'sqlite') throw new UsageError(`--from must be sqlite:DIR\n\n${MIGRATE_HELP}`);
  if (to.engine !== 'postgres') throw new UsageError(`--to must be a postgres:// URL\n\n${MIGRATE_HELP}`);

  const lock = lockDataDir(from.dir);
  const db = openFleetDb(from.dir, { storageKey: folderKey(from.dir, values['storage-key']) });
  const pool = createPgPool(to.url, { max: 2 });
  let report: CopyReport;
  try {
    await pgMigrate(pool, pgMigrations);
    const human = !values.json;
    report = await copySqliteToPostgres(db, pool, {
      allowNonEmpty: values['allow-non-empty'] ?? false,
      releasesDir: fleetPaths(from.dir).releases,
      onProgress: (table, done, total) => {
        if (human && (done === total || done % 100_000 === 0)) {
          process.stderr.write(`  ${table}: ${done} of ${total} rows\n`);
        }
      },
    });
  } finally {
    await pool.end();
    db.close();
    lock.release();
  }
  const ok = report.differing.length === 0;
  const shownFrom = `sqlite:${from.dir}`;
  if (values.json) {
    const out = { from: shownFrom, to: pool.shown, tables: report.tables, notCopied: report.notCopied, ok };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else printHuman(shownFrom, pool.shown, report);
  if (ok) return 0;
  throw new FleetError(
    'FLEET_STORE_COUNTS',
    `row counts differ after the copy in ${report.differing.join(', ')}: ` +
      report.tables
        .filter((t) => report.differing.includes(t.table))
        .map((t) => `${t.table} ${t.source} in the source, ${t.copied} copied`)
        .join('; '),
  );
}
