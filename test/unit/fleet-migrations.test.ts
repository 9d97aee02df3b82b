// Fleet database migrations on a real SQLite file: a version-5 database with telemetry moves to the arrival-order
// layout of version 6 with every row kept, and the sample key still makes redelivery harmless.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { migrations } from '../../broker/src/db/migrations.js';
import { migrate, openDb, schemaVersion } from '../../broker/src/db/open.js';
import { tmpDir } from '../helpers/tmp.js';

test('v5 → v6: telemetry rows kept, arrival order, (device, stream, seq) still unique', () => {
  const file = join(tmpDir('edgeward-migrate-'), 'fleet.db');
  const v5 = new Database(file);
  migrate(v5, migrations.filter((m) => m.version <= 5));
  assert.is(schemaVersion(v5), 5);
  v5.prepare(`INSERT INTO devices (id, status, created_at) VALUES ('gw-001', 'active', 0), ('gw-002', 'active', 0)`).run();
  const insert = v5.prepare('INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) VALUES (?, ?, ?, ?, ?, ?)');
  for (let seq = 1; seq <= 50; seq++) {
    insert.run('gw-002', 's1', seq, 1000 + seq, 2000 + seq * 2, `{"t":${seq}}`);
    insert.run('gw-001', 's1', seq, 1000 + seq, 2000 + seq * 2 + 1, `{"t":${seq}}`);
  }
  v5.close();

  const db = openDb(file);
  assert.is(schemaVersion(db), migrations.at(-1)!.version);
  assert.is(db.prepare('SELECT count(*) FROM telemetry').pluck().get(), 100);
  const seqs = db.prepare(`SELECT seq FROM telemetry WHERE device_id = 'gw-001' ORDER BY seq`).pluck().all() as number[];
  assert.equal(seqs, Array.from({ length: 50 }, (_, i) => i + 1));
  // Rows are numbered in the order they arrived.
  const arrival = db.prepare('SELECT received_at FROM telemetry ORDER BY id').pluck().all() as number[];
  assert.equal(arrival, [...arrival].sort((a, b) => a - b));
  assert.is(db.prepare(`SELECT metrics FROM telemetry WHERE device_id = 'gw-002' AND seq = 7`).pluck().get(), '{"t":7}');
  // The ingest statement: a redelivered sample changes nothing, a new one is stored.
  const ingest = db.prepare('INSERT OR IGNORE INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) VALUES (?, ?, ?, ?, ?, ?)');
  assert.is(ingest.run('gw-001', 's1', 7, 0, 0, '{}').changes, 0);
  assert.is(ingest.run('gw-001', 's1', 51, 0, 9999, '{}').changes, 1);
  assert.throws(() => db.prepare('INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) VALUES (?, ?, ?, ?, ?, ?)').run('gw-001', 's1', 51, 0, 0, '{}'), /UNIQUE/);
  // The per-device query uses the key index, not a table scan.
  const plan = (db.prepare(`EXPLAIN QUERY PLAN SELECT seq FROM telemetry WHERE device_id = ? ORDER BY seq`).all('gw-001') as { detail: string }[]).map((r) => r.detail).join('; ');
  assert.match(plan, /telemetry_sample/);
  db.close();
});

test('a fresh database gets every migration and the same telemetry layout', () => {
  const db = openDb(join(tmpDir('edgeward-migrate-'), 'fleet.db'));
  assert.is(schemaVersion(db), migrations.at(-1)!.version);
  const columns = (db.prepare(`SELECT name FROM pragma_table_info('telemetry')`).pluck().all() as string[]).join(',');
  assert.is(columns, 'id,device_id,stream,seq,device_ts,received_at,metrics');
  db.close();
});

test.run();
