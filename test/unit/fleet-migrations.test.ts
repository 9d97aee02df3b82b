// Fleet database migrations on a real SQLite file: a version-5 database with telemetry moves to the arrival-order
// layout of version 6 with every row kept, and version 7 moves the sample keys into telemetry_keys. The indexes
// version 12 adds are the ones SQLite picks for the queries they were made for.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { migrations } from '../../broker/src/db/migrations.js';
import { migrate, openDb, schemaVersion } from '../../broker/src/db/open.js';
import { tmpDir } from '../helpers/tmp.js';

test('v5 → latest: telemetry rows kept, arrival order, every sample key in telemetry_keys', () => {
  const file = join(tmpDir('edgeward-migrate-'), 'fleet.db');
  const v5 = new Database(file);
  migrate(
    v5,
    migrations.filter((m) => m.version <= 5),
  );
  assert.is(schemaVersion(v5), 5);
  v5.prepare(
    `INSERT INTO devices (id, status, created_at) VALUES ('gw-001', 'active', 0), ('gw-002', 'active', 0)`,
  ).run();
  const insert = v5.prepare(
    'INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (let seq = 1; seq <= 50; seq++) {
    insert.run('gw-002', 's1', seq, 1000 + seq, 2000 + seq * 2, `{"t":${seq}}`);
    insert.run('gw-001', 's1', seq, 1000 + seq, 2000 + seq * 2 + 1, `{"t":${seq}}`);
  }
  v5.close();

  const db = openDb(file);
  assert.is(schemaVersion(db), migrations.at(-1)!.version);
  assert.is(db.prepare('SELECT count(*) FROM telemetry').pluck().get(), 100);
  const seqs = db
    .prepare(`SELECT seq FROM telemetry WHERE device_id = 'gw-001' ORDER BY seq`)
    .pluck()
    .all() as number[];
  assert.equal(
    seqs,
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  // Rows are numbered in the order they arrived.
  const arrival = db.prepare('SELECT received_at FROM telemetry ORDER BY id').pluck().all() as number[];
  assert.equal(
    arrival,
    [...arrival].sort((a, b) => a - b),
  );
  assert.is(
    db.prepare(`SELECT metrics FROM telemetry WHERE device_id = 'gw-002' AND seq = 7`).pluck().get(),
    '{"t":7}',
  );
  // Every row's key is in telemetry_keys (v7), and the sample view finds rows by key through its primary key.
  assert.is(db.prepare('SELECT count(*) FROM telemetry_keys').pluck().get(), 100);
  assert.is(db.prepare('SELECT through_id FROM telemetry_keyed').pluck().get(), 100);
  assert.is(
    db
      .prepare(`SELECT metrics FROM telemetry_samples WHERE device_id = 'gw-002' AND stream = 's1' AND seq = 7`)
      .pluck()
      .get(),
    '{"t":7}',
  );
  assert.equal(
    db.prepare(`SELECT seq FROM telemetry_samples WHERE device_id = 'gw-001' ORDER BY seq`).pluck().all(),
    seqs,
  );
  const plan = (
    db
      .prepare(`EXPLAIN QUERY PLAN SELECT seq FROM telemetry_samples WHERE device_id = ? AND stream = ?`)
      .all('gw-001', 's1') as { detail: string }[]
  )
    .map((r) => r.detail)
    .join('; ');
  assert.match(plan, /SEARCH k USING PRIMARY KEY \(device_id=\? AND stream=\?\)/);
  assert.match(
    plan,
    /SEARCH telemetry USING INTEGER PRIMARY KEY \(rowid>\?\)/,
    'the rows not keyed yet: a range of the newest rows',
  );
  // The key stays unique.
  assert.throws(() => db.prepare(`INSERT INTO telemetry_keys VALUES ('gw-001', 's1', 7, 1)`).run(), /UNIQUE/);
  db.close();
});

test('v6 → v7: the unique index gives way to telemetry_keys; rows after through_id show in the sample view', () => {
  const file = join(tmpDir('edgeward-migrate-'), 'fleet.db');
  const v6 = new Database(file);
  migrate(
    v6,
    migrations.filter((m) => m.version <= 6),
  );
  v6.prepare(`INSERT INTO devices (id, status, created_at) VALUES ('gw-001', 'active', 0)`).run();
  const insert = v6.prepare(
    'INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (let seq = 1; seq <= 20; seq++) insert.run('gw-001', 's1', seq, seq, seq, '{}');
  v6.close();

  const db = openDb(file);
  assert.is(db.prepare(`SELECT count(*) FROM sqlite_schema WHERE name = 'telemetry_sample'`).pluck().get(), 0);
  assert.is(db.prepare('SELECT count(*) FROM telemetry_keys').pluck().get(), 20);
  // A row stored after the migration, before the next key pass, is found by the view all the same.
  db.prepare(
    'INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) VALUES (?, ?, ?, ?, ?, ?)',
  ).run('gw-001', 's1', 21, 21, 21, '{}');
  assert.equal(
    db
      .prepare(
        `SELECT seq FROM telemetry_samples WHERE device_id = 'gw-001' AND stream = 's1' AND seq > 18 ORDER BY seq`,
      )
      .pluck()
      .all(),
    [19, 20, 21],
  );
  db.close();
});

test('a fresh database gets every migration and the same telemetry layout', () => {
  const db = openDb(join(tmpDir('edgeward-migrate-'), 'fleet.db'));
  assert.is(schemaVersion(db), migrations.at(-1)!.version);
  const columns = (db.prepare(`SELECT name FROM pragma_table_info('telemetry')`).pluck().all() as string[]).join(',');
  assert.is(columns, 'id,device_id,stream,seq,device_ts,received_at,metrics');
  db.close();
});

test('migrations that shipped are never renumbered or edited (a database of any landed build still opens)', () => {
  // Version → the first 12 hex digits of SHA-256 of its SQL, as landed. Append new migrations; never change these.
  const shipped: Record<number, string> = {
    1: '05be45fd04b4',
    2: '395af5275053',
    3: '37fd12b5ffee',
    4: '68e79649f54f',
    5: '7309382b1f90',
    6: 'd611585f7d76',
    7: '3078d90ca136',
    8: '23f032d4f595',
    9: '346f2816dd0b',
    10: 'd619140cf45d',
    11: '857a740cac9e',
    12: '97c80e027a85',
    13: '5cfd141f5dd5',
    14: 'c0d17a36e726',
    15: '7ce8fec09ab2',
    16: '7b3021d51377',
    17: '1f8a5c053182',
    18: '4a65b03f5c8e',
  };
  const now = Object.fromEntries(
    migrations
      .filter((m) => m.version in shipped)
      .map((m) => [m.version, createHash('sha256').update(m.sql).digest('hex').slice(0, 12)]),
  );
  assert.equal(now, shipped);
  assert.equal(
    migrations.map((m) => m.version),
    migrations.map((_, i) => i + 1),
    'numbered 1, 2, 3… in order',
  );
});

test('v12: the device list finds a newest certificate by index, the revocation check reads only revoked rows', () => {
  const db = openDb(join(tmpDir('edgeward-migrate-'), 'fleet.db'));
  const plan = (sql: string) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ id: 'gw-001' }) as { detail: string }[]).map((r) => r.detail);
  // The subquery of registry.ts's device list and lookup: an index search, and no temporary sort.
  const newest = plan(
    'SELECT serial FROM certificates WHERE device_id = @id ORDER BY issued_at DESC, rowid DESC LIMIT 1',
  );
  assert.equal(newest, ['SEARCH certificates USING INDEX certificates_device_issued (device_id=?)']);
  assert.equal(plan('SELECT serial FROM certificates WHERE revoked_at IS NOT NULL'), [
    'SCAN certificates USING INDEX certificates_revoked',
  ]);
  db.close();
});

test("v15: each device's latest report and its findings' checks come from the indexes alone", () => {
  const db = openDb(join(tmpDir('edgeward-migrate-'), 'fleet.db'));
  const plan = (sql: string) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail);
  // exposure.ts's posture and posture-snapshots.ts read these columns for every device.
  assert.ok(
    plan(
      'SELECT id, device_id, score, grade, findings, max(received_at) FROM exposure_reports GROUP BY device_id',
    ).includes('SCAN exposure_reports USING COVERING INDEX exposure_reports_latest'),
  );
  assert.ok(
    plan(
      "SELECT check_id, severity FROM exposure_findings WHERE report_id IN (SELECT value FROM json_each('[1]'))",
    ).some((d) => d.includes('USING COVERING INDEX exposure_findings_checks')),
  );
  db.close();
});

test.run();
