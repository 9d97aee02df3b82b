// `fleet db check`: SQLite's full integrity check of the fleet database — ok (exit 0) on a good one, also while
// the server runs; FLEET_DB_CORRUPT (exit 1) with the problems listed on a damaged one, in text and in JSON.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { copyDataDir, hasStackTrace, noise, overwrite, populatedFleet } from '../helpers/broken-db.js';
import { createFleetServer } from '../../broker/src/server.js';
import { testLogger, type TestFleet } from '../helpers/fleet.js';
import { fleetCli } from '../helpers/run.js';

let fleet: TestFleet;

test.before(async () => {
  fleet = await populatedFleet(['gw-001'], 500);
  const insert = fleet.db.prepare(`INSERT INTO audit (at, event, device_id) VALUES (?, 'auth.denied', ?)`);
  for (let i = 0; i < 50; i++) insert.run(i, `gw-${String(i).padStart(3, '0')}`);
  await fleet.close();
});

test('a good database: ok, exit 0, in text and JSON', async () => {
  const r = await fleetCli(['db', 'check', '--data', fleet.dataDir]);
  assert.is(r.code, 0, r.output);
  assert.match(r.stdout, /fleet\.db is intact \(integrity_check ok\)/);
  const j = await fleetCli(['db', 'check', '--data', fleet.dataDir, '--json']);
  assert.is(j.code, 0, j.output);
  assert.equal(JSON.parse(j.stdout), {
    ok: true,
    file: join(fleet.dataDir, 'fleet.db'),
    check: 'integrity_check',
    problems: [],
  });
});

test('while the server runs on it: ok', async () => {
  const dataDir = copyDataDir(fleet.dataDir);
  const server = await createFleetServer({ dataDir, mqttPort: 0, httpPort: 0, downloadPort: 0, log: testLogger() });
  try {
    const r = await fleetCli(['db', 'check', '--data', dataDir]);
    assert.is(r.code, 0, r.output);
  } finally {
    await server.close();
  }
});

test('an index that no longer matches its table (quick_check misses it): FLEET_DB_CORRUPT, exit 1', async () => {
  const dataDir = copyDataDir(fleet.dataDir);
  const file = join(dataDir, 'fleet.db');
  // The index's definition now names other columns than the entries it holds.
  const db = new Database(file);
  db.unsafeMode(true);
  db.pragma('writable_schema = ON');
  db.prepare(`UPDATE sqlite_schema SET sql = 'CREATE INDEX audit_event ON audit(device_id, at)' WHERE name = ?`).run(
    'audit_event',
  );
  db.close();

  const r = await fleetCli(['db', 'check', '--data', dataDir]);
  assert.is(r.code, 1, r.output);
  assert.match(r.stdout, /fleet\.db is damaged:\n {2}row \d+ missing from index audit_event/);
  assert.match(r.stderr, /^error FLEET_DB_CORRUPT: .*failed integrity_check \(\d+ problems\).*docs\/operations\.md/m);
  const j = await fleetCli(['db', 'check', '--data', dataDir, '--json']);
  assert.is(j.code, 1, j.output);
  const report = JSON.parse(j.stdout) as { ok: boolean; problems: string[] };
  assert.is(report.ok, false);
  assert.ok(report.problems.length > 0 && report.problems.length <= 100);
  assert.match(j.stderr, /^error FLEET_DB_CORRUPT: /m);
});

test('a garbage header: FLEET_DB_CORRUPT, exit 1, no stack trace', async () => {
  const dataDir = copyDataDir(fleet.dataDir);
  overwrite(join(dataDir, 'fleet.db'), 0, noise(100, 'header'));
  const r = await fleetCli(['db', 'check', '--data', dataDir]);
  assert.is(r.code, 1, r.output);
  assert.match(r.stdout, /file is not a database/);
  assert.match(r.stderr, /^error FLEET_DB_CORRUPT: /m);
  assert.not.ok(hasStackTrace(r.output), r.output);
});

test('a missing database: FLEET_DB_MISSING, and nothing is created', async () => {
  const dataDir = copyDataDir(fleet.dataDir);
  rmSync(join(dataDir, 'fleet.db'));
  const r = await fleetCli(['db', 'check', '--data', dataDir]);
  assert.is(r.code, 1, r.output);
  assert.match(r.stderr, /^error FLEET_DB_MISSING: /m);
});

test('usage: no subcommand prints the help and exits 2', async () => {
  const r = await fleetCli(['db']);
  assert.is(r.code, 2);
  assert.match(r.stdout, /check/);
});

test.run();
