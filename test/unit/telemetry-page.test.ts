// A device's telemetry a page at a time (broker/src/db/telemetry.ts) on a real SQLite file: arrival order, the
// received-at range turned into a row-id range, keyed rows and the newest not keyed yet, gaps in the ids.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Db, openDb } from '../../broker/src/db/open.js';
import { createTelemetryReader } from '../../broker/src/db/telemetry.js';
import { tmpDir } from '../helpers/tmp.js';

let db: Db;
const T0 = Date.UTC(2025, 0, 1);
const S = 1000;

/** Rows in arrival order: per second, one sample of gw-a and one of gw-b; ids 1 … 2n. */
function seed(n: number): void {
  const insert = db.prepare(
    `INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) VALUES (?, 's', ?, ?, ?, ?)`,
  );
  for (let i = 1; i <= n; i++) {
    for (const d of ['gw-a', 'gw-b']) insert.run(d, i, T0 + i * S - 50, T0 + i * S, JSON.stringify({ v: i }));
  }
}

/** Keys for the rows up to `through` go into telemetry_keys, as ingest's key pass writes them. */
function keyThrough(through: number): void {
  db.prepare(
    `INSERT OR IGNORE INTO telemetry_keys (device_id, stream, seq, row_id)
       SELECT device_id, stream, seq, id FROM telemetry WHERE id <= ?`,
  ).run(through);
  db.prepare('UPDATE telemetry_keyed SET through_id = ?').run(through);
}

test.before(() => {
  db = openDb(join(tmpDir('edgeward-telemetry-'), 'fleet.db'));
});
test.after(() => {
  db.close();
});

test('an empty table, and a device without samples, give an empty last page', () => {
  const reader = createTelemetryReader(db);
  assert.equal(reader.page({ deviceId: 'gw-a', limit: 10 }), { items: [], last: null });
  assert.equal(reader.page({ deviceId: 'gw-a', limit: 10, from: T0, to: T0 + S }), { items: [], last: null });
});

test('pages follow arrival order across keyed and unkeyed rows, each sample once', () => {
  seed(50);
  keyThrough(60); // rows 1 … 60 keyed (30 of gw-a), the rest not yet
  const reader = createTelemetryReader(db);
  const seqs: number[] = [];
  let after: number | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = reader.page({ deviceId: 'gw-a', limit: 7, ...(after !== undefined ? { after } : {}) });
    seqs.push(...page.items.map((s) => s.seq));
    if (page.last === null) break;
    after = page.last;
  }
  assert.equal(
    seqs,
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  const first = reader.page({ deviceId: 'gw-a', limit: 1 }).items[0]!;
  assert.equal(first, {
    ts: new Date(T0 + S - 50).toISOString(),
    receivedAt: new Date(T0 + S).toISOString(),
    stream: 's',
    seq: 1,
    metrics: { v: 1 },
  });
});

test('from is inclusive and to exclusive, on the time received', () => {
  const reader = createTelemetryReader(db);
  const page = reader.page({ deviceId: 'gw-b', limit: 100, from: T0 + 10 * S, to: T0 + 20 * S });
  assert.equal(
    page.items.map((s) => s.seq),
    [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  );
  assert.is(page.last, null);
  assert.equal(reader.page({ deviceId: 'gw-b', limit: 5, from: T0 + 1000 * S }).items, []);
  const paged = reader.page({ deviceId: 'gw-b', limit: 4, from: T0 + 10 * S, to: T0 + 20 * S });
  assert.is(paged.items.length, 4);
  const rest = reader.page({ deviceId: 'gw-b', limit: 100, from: T0 + 10 * S, to: T0 + 20 * S, after: paged.last! });
  assert.equal(
    rest.items.map((s) => s.seq),
    [14, 15, 16, 17, 18, 19],
  );
});

test('gaps in the ids (rows deleted by hand) and a key whose row id went to another device', () => {
  db.prepare('DELETE FROM telemetry WHERE id BETWEEN 21 AND 40').run();
  const reader = createTelemetryReader(db);
  const page = reader.page({ deviceId: 'gw-a', limit: 100, from: T0 + 5 * S, to: T0 + 25 * S });
  assert.equal(
    page.items.map((s) => s.seq),
    [5, 6, 7, 8, 9, 10, 21, 22, 23, 24],
  );
  // Row 41 is gw-a's seq 21; its key is made to point at row 42 (gw-b's): the row is not shown as gw-a's.
  db.prepare(`UPDATE telemetry_keys SET row_id = 42 WHERE device_id = 'gw-a' AND seq = 21`).run();
  const stale = reader.page({ deviceId: 'gw-a', limit: 100, from: T0 + 21 * S, to: T0 + 22 * S });
  assert.equal(stale.items, []);
});

test('after a clock step backwards, no sample outside the range is shown', () => {
  db.prepare(
    `INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics)
       VALUES ('gw-a', 's', 99, ?, ?, '{}')`,
  ).run(T0, T0 + 2 * S);
  const reader = createTelemetryReader(db);
  const page = reader.page({ deviceId: 'gw-a', limit: 100, from: T0 + 45 * S });
  assert.ok(page.items.every((s) => Date.parse(s.receivedAt) >= T0 + 45 * S));
});

test.run();
