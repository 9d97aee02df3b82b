// `fleet serve` on a data folder whose database is lost or damaged: each is refused at start-up with a coded error
// and exit 1, no stack trace, no listening server, and the folder left as it was (no fresh schema written).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  copyDataDir,
  corruptPages,
  hasStackTrace,
  noise,
  overwrite,
  pagesOf,
  populatedFleet,
} from '../helpers/broken-db.js';
import type { TestFleet } from '../helpers/fleet.js';
import { freePort } from '../helpers/mosquitto.js';
import { fleetCli, startServeSource } from '../helpers/run.js';

let fleet: TestFleet;
let telemetryPages: number[];

test.before(async () => {
  fleet = await populatedFleet(['gw-001', 'gw-002']);
  telemetryPages = pagesOf(fleet.db, ['telemetry']);
  await fleet.close();
});

async function serve(dataDir: string, extra: string[] = []) {
  const ports = [
    '--mqtt-port',
    String(await freePort()),
    '--http-port',
    String(await freePort()),
    '--download-port',
    String(await freePort()),
  ];
  // Bounded: a server that starts instead of refusing is killed after 60 s (and the test fails on its code).
  return fleetCli(['serve', '--data', dataDir, ...ports, ...extra], { timeoutMs: 60_000 });
}

const cases: [name: string, code: string, breakIt: (db: string) => void][] = [
  ['an empty database (0 bytes)', 'FLEET_DB_MISSING', (db) => writeFileSync(db, '')],
  ['a missing database', 'FLEET_DB_MISSING', (db) => rmSync(db)],
  ['a garbage header', 'FLEET_DB_CORRUPT', (db) => overwrite(db, 0, noise(100, 'header'))],
  // The reproduction: 8 KiB of random bytes at offset 140000 of a populated database.
  ['8 KiB of garbage in the middle', 'FLEET_DB_CORRUPT', (db) => overwrite(db, 140_000, noise(8192, 'middle'))],
  ['garbage over the telemetry pages', 'FLEET_DB_CORRUPT', (db) => corruptPages(db, telemetryPages)],
  ['a truncated database', 'FLEET_DB_CORRUPT', (db) => truncateSync(db, 50_000)],
  [
    'a database that is a folder',
    'FLEET_DB_IO',
    (db) => {
      rmSync(db);
      mkdirSync(db);
    },
  ],
];

for (const [name, code, breakIt] of cases) {
  test(`serve on ${name}: refused with ${code}, exit 1, no stack trace, folder untouched`, async () => {
    const dataDir = copyDataDir(fleet.dataDir);
    const db = join(dataDir, 'fleet.db');
    breakIt(db);
    const before = existsSync(db) && statSync(db).isFile() ? readFileSync(db) : undefined;
    const r = await serve(dataDir);
    assert.is(r.code, 1, r.output);
    assert.match(r.stderr, new RegExp(`^error ${code}: `, 'm'));
    assert.not.match(r.output, /listening/);
    assert.not.ok(hasStackTrace(r.output), r.output);
    assert.is(r.stderr.trim().split('\n').length, 1, `one error line: ${r.stderr}`);
    // Nothing was created or rewritten in place of the lost database.
    if (before) assert.ok(readFileSync(db).equals(before), 'the database file is unchanged');
    else if (code === 'FLEET_DB_MISSING') assert.not.ok(existsSync(db), 'no new database was created');
  });
}

test('the missing-database error says how to restore, and names the --init-empty-db override', async () => {
  const dataDir = copyDataDir(fleet.dataDir);
  rmSync(join(dataDir, 'fleet.db'));
  const r = await serve(dataDir);
  assert.match(r.stderr, /holds the fleet CA/);
  assert.match(r.stderr, /Restore it from a backup \(docs\/operations\.md\)/);
  assert.match(r.stderr, /--init-empty-db/);
});

test('other commands refuse a lost database too, instead of writing a fresh schema', async () => {
  const dataDir = copyDataDir(fleet.dataDir);
  const db = join(dataDir, 'fleet.db');
  writeFileSync(db, '');
  const r = await fleetCli(['device', 'list', '--data', dataDir]);
  assert.is(r.code, 1, r.output);
  assert.match(r.stderr, /^error FLEET_DB_MISSING: /m);
  assert.is(statSync(db).size, 0);
});

test('--init-empty-db starts on a lost database, but not while its WAL is still there', async () => {
  const dataDir = copyDataDir(fleet.dataDir);
  const db = join(dataDir, 'fleet.db');
  rmSync(db);
  // A WAL left behind would be deleted by SQLite with the new database: refused until it is moved aside.
  writeFileSync(`${db}-wal`, noise(4096, 'wal'));
  const refused = await serve(dataDir, ['--init-empty-db']);
  assert.is(refused.code, 1, refused.output);
  assert.match(refused.stderr, /^error FLEET_DB_MISSING: .*fleet\.db-wal holds 4096 bytes/m);
  assert.is(statSync(`${db}-wal`).size, 4096);
  rmSync(`${db}-wal`);

  const started = await startServeSource(dataDir, ['--init-empty-db']);
  const deadline = Date.now() + 60_000;
  while (
    !started.stderr().includes('fleet server listening') &&
    Date.now() < deadline &&
    started.child.exitCode === null
  )
    await new Promise((r) => setTimeout(r, 50));
  started.child.kill('SIGTERM');
  assert.is(await started.exited, 0, started.stderr());
  assert.match(started.stderr(), /fleet server listening/);
  assert.ok(statSync(db).size > 0, 'a fresh database was created');
});

test.run();
