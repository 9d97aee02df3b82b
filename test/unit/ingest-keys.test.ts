// Sample keys on a real SQLite file: a sample is stored once whether its key is already in telemetry_keys or
// still among the newest rows, after the store is reopened, and after a transaction that rolled back.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDb, type Db } from '../../broker/src/db/open.js';
import { DUPLICATE } from '../../broker/src/fleet/ingest-result.js';
import { createIngestStore, type StoreItem } from '../../broker/src/fleet/ingest-store.js';
import { tmpDir } from '../helpers/tmp.js';

function freshDb(): Db {
  const db = openDb(join(tmpDir('edgeward-keys-'), 'fleet.db'));
  for (const id of ['gw-a01', 'gw-b02'])
    db.prepare(`INSERT INTO devices (id, status, created_at) VALUES (?, 'active', 0)`).run(id);
  return db;
}

/** One telemetry message carrying the given seqs. */
const message = (deviceId: string, seqs: number[], stream = 'stream-0001'): StoreItem => ({
  kind: 'message',
  deviceId,
  receivedAt: 0,
  decoded: {
    kind: 'telemetry',
    message: {
      v: 1,
      id: `msg-${deviceId}-${seqs[0]}`,
      ts: 0,
      stream,
      samples: seqs.map((seq) => ({ seq, ts: seq, m: { t: seq } })),
    },
  },
});

const rows = (db: Db, deviceId: string) =>
  db.prepare(`SELECT seq FROM telemetry WHERE device_id = ? ORDER BY seq, id`).pluck().all(deviceId) as number[];
const keyed = (db: Db) => db.prepare('SELECT count(*) FROM telemetry_keys').pluck().get() as number;

test('resends are stored once, before and after their keys are written; out-of-order samples are not resends', () => {
  const db = freshDb();
  const store = createIngestStore(db);
  assert.equal(store.writeBatch([message('gw-a01', [1, 2, 3]), message('gw-b02', [1])], 0), [3, 1]);
  // Not keyed yet (the pass waits for 250 ms or 8192 samples): found among the newest rows.
  assert.is(keyed(db), 0);
  assert.equal(store.writeBatch([message('gw-a01', [2, 3, 4])], 10), [1], 'only seq 4 is new');
  assert.equal(store.writeBatch([message('gw-a01', [4])], 20), [DUPLICATE], 'all of it a duplicate');
  // A gap filled later is new; the same sample again is not. Another device's seq 2 is its own.
  assert.equal(store.writeBatch([message('gw-a01', [7]), message('gw-a01', [6]), message('gw-a01', [6])], 30), [
    1,
    1,
    DUPLICATE,
  ]);
  assert.equal(store.writeBatch([message('gw-b02', [2])], 40), [1]);
  // 250 ms after the first unkeyed sample, the batch's transaction writes every waiting key.
  store.writeBatch([message('gw-b02', [3])], 300);
  assert.is(keyed(db), 9);
  assert.is(
    db.prepare('SELECT through_id FROM telemetry_keyed').pluck().get(),
    db.prepare('SELECT max(id) FROM telemetry').pluck().get(),
  );
  // Keyed now: still duplicates, in any order, and a new stream of the same device starts again at 1.
  assert.equal(store.writeBatch([message('gw-a01', [1, 6, 3]), message('gw-a01', [1], 'stream-0002')], 310), [
    DUPLICATE,
    1,
  ]);
  assert.equal(rows(db, 'gw-a01'), [1, 1, 2, 3, 4, 6, 7]);
  assert.is(db.prepare(`SELECT telemetry_count FROM devices WHERE id = 'gw-a01'`).pluck().get(), 7);
  db.close();
});

test('a reopened store knows the samples stored before, keyed or not, and keys what the last one left', () => {
  const db = freshDb();
  createIngestStore(db).writeBatch([message('gw-a01', [1, 2])], 0);
  createIngestStore(db).writeBatch([message('gw-a01', [3])], 10); // its first transaction keys 1–2 and 3
  assert.is(keyed(db), 3);
  createIngestStore(db).writeBatch([message('gw-a01', [4, 5])], 20); // 4–5 not keyed yet
  assert.is(keyed(db), 3);
  const reopened = createIngestStore(db);
  assert.equal(reopened.writeBatch([message('gw-a01', [2, 5, 6])], 30), [1]);
  assert.equal(rows(db, 'gw-a01'), [1, 2, 3, 4, 5, 6]);
  assert.is(keyed(db), 6);
  db.close();
});

test('a transaction that rolls back leaves nothing behind, in the database or in what the store remembers', () => {
  const db = freshDb();
  const store = createIngestStore(db);
  store.writeBatch([message('gw-a01', [1])], 0);
  db.exec(
    `CREATE TRIGGER refuse_13 BEFORE INSERT ON telemetry WHEN NEW.seq = 13 BEGIN SELECT RAISE(ABORT, 'refused'); END`,
  );
  // Seqs 10–12 are inserted, then 13 fails the whole batch (and a due key pass with it).
  assert.throws(() => store.writeBatch([message('gw-a01', [10, 11, 12]), message('gw-a01', [13])], 1000), /refused/);
  assert.equal(rows(db, 'gw-a01'), [1]);
  assert.is(keyed(db), 0);
  db.exec('DROP TRIGGER refuse_13');
  // The device resends: nothing of the failed batch counts as stored.
  assert.equal(store.writeBatch([message('gw-a01', [10, 11, 12]), message('gw-a01', [13])], 1001), [3, 1]);
  assert.is(keyed(db), 5);
  assert.equal(store.writeBatch([message('gw-a01', [12, 13])], 1002), [DUPLICATE]);
  assert.equal(rows(db, 'gw-a01'), [1, 10, 11, 12, 13]);
  db.close();
});

test('rows deleted by hand: ids used again get their keys, and a stale key never shows another row', () => {
  const db = freshDb();
  createIngestStore(db).writeBatch([message('gw-a01', [1, 2, 3])], 0);
  createIngestStore(db).writeBatch([message('gw-a01', [4])], 10); // keyed through id 4
  db.exec(`DELETE FROM telemetry WHERE seq >= 3`);
  const store = createIngestStore(db);
  assert.is(db.prepare('SELECT through_id FROM telemetry_keyed').pluck().get(), 2);
  assert.equal(store.writeBatch([message('gw-a01', [5])], 20), [1]); // stored as id 3 again
  store.writeBatch([message('gw-a01', [6])], 300); // the pass keys ids 3 and 4
  assert.equal(db.prepare(`SELECT row_id FROM telemetry_keys WHERE seq IN (5, 6) ORDER BY seq`).pluck().all(), [3, 4]);
  // The keys of the deleted seqs 3 and 4 point to ids 3 and 4 too: the view shows each row under its own key.
  assert.equal(
    db
      .prepare(`SELECT seq FROM telemetry_samples WHERE device_id = 'gw-a01' AND stream = 'stream-0001' ORDER BY seq`)
      .pluck()
      .all(),
    [1, 2, 5, 6],
  );
  db.close();
});

test.run();
