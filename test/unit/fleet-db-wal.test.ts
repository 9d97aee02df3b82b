// The WAL stays bounded: a checkpointed WAL is cut back to JOURNAL_SIZE_LIMIT, the ingest thread checkpoints by time
// as well as by size, and an idle server empties the WAL (TRUNCATE) without waiting for another connection's reader.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCheckpoints } from '../../broker/src/db/checkpoint.js';
import { JOURNAL_SIZE_LIMIT, openDb } from '../../broker/src/db/open.js';
import { createIngest } from '../../broker/src/fleet/ingest.js';
import { encodeMessage } from '../../shared/src/index.js';
import { testLogger, waitFor } from '../helpers/fleet.js';
import { tmpDir } from '../helpers/tmp.js';

const size = (file: string) => (existsSync(file) ? statSync(file).size : 0);

function freshDb() {
  const file = join(tmpDir('edgeward-wal-'), 'fleet.db');
  const db = openDb(file);
  db.pragma('wal_autocheckpoint = 0'); // as the fleet server's main connection: only the checkpoints under test run
  db.exec('CREATE TABLE filler (b BLOB NOT NULL)');
  return { db, file, wal: `${file}-wal` };
}

/** Writes about `mib` MiB of pages into the WAL. */
function fill(db: ReturnType<typeof openDb>, mib: number): void {
  const insert = db.prepare('INSERT INTO filler (b) VALUES (randomblob(4000))');
  db.transaction(() => {
    for (let i = 0; i < mib * 256; i++) insert.run();
  })();
}

test('a checkpointed WAL is cut back to JOURNAL_SIZE_LIMIT when it is reused', () => {
  const { db, wal } = freshDb();
  fill(db, 8);
  assert.ok(size(wal) > 8 * 1024 * 1024);
  db.pragma('wal_checkpoint(PASSIVE)');
  db.prepare(`INSERT INTO filler (b) VALUES (x'01')`).run();
  assert.ok(size(wal) <= JOURNAL_SIZE_LIMIT, `WAL of ${size(wal)} bytes`);
  db.close();
});

test('checkpoints by time: after a commit once everyMs has passed, and a TRUNCATE once idle', () => {
  const { db, file, wal } = freshDb();
  const policy = { everyMs: 10_000, idleMs: 2_000, retryMs: 30_000 };
  const checkpoints = createCheckpoints(db, policy, 0);
  fill(db, 1);
  const dbSize = size(file);
  checkpoints.committed(5_000);
  assert.is(size(file), dbSize, 'too soon: the pages are still only in the WAL');
  checkpoints.committed(10_000);
  assert.ok(size(file) > dbSize + 512 * 1024, 'checkpointed into the database');

  fill(db, 1);
  checkpoints.committed(11_000);
  checkpoints.idle(12_000);
  assert.ok(size(wal) > 0, 'not idle long enough yet');
  // Another connection in a read transaction: the TRUNCATE cannot finish, and does not wait for it.
  const reader = openDb(file);
  reader.prepare('BEGIN').run();
  reader.prepare('SELECT count(*) FROM filler').get();
  checkpoints.idle(13_000);
  assert.ok(size(wal) > 0, 'a reader keeps the WAL');
  reader.prepare('COMMIT').run();
  reader.close();
  checkpoints.idle(14_000);
  assert.is(size(wal), 0, 'idle: the WAL is emptied');
  db.close();
});

test('the ingest thread empties the WAL once ingest goes quiet (long before 8,000 pages)', async () => {
  const { db, file, wal } = freshDb();
  db.prepare(`INSERT INTO devices (id, status, created_at) VALUES ('gw-a01', 'active', 0)`).run();
  const ingest = createIngest(db, {
    log: testLogger(),
    thread: { file, checkpoints: { everyMs: 60_000, idleMs: 100, retryMs: 1_000 } },
  });
  const done = await Promise.all(
    Array.from(
      { length: 200 },
      (_, i) =>
        new Promise<Error | null>((resolve) =>
          ingest.submit(
            'gw-a01',
            'telemetry',
            'fleet/v1/gw-a01/telemetry',
            encodeMessage({
              v: 1,
              id: `msg-${String(i).padStart(8, '0')}`,
              ts: Date.now(),
              stream: 'stream-0001',
              samples: [{ seq: i + 1, ts: Date.now(), m: { t: i } }],
            }),
            (err) => resolve(err ?? null),
          ),
        ),
    ),
  );
  try {
    assert.ok(done.every((e) => e === null));
    assert.ok(size(wal) > 0);
    await waitFor(() => size(wal) === 0, 'the WAL emptied');
    assert.is(db.prepare('SELECT count(*) FROM telemetry').pluck().get(), 200);
  } finally {
    await ingest.close();
    db.close();
  }
});

test.run();
