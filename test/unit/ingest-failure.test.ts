// Ingest when the database fails: a damaged database refuses every message with FLEET_DB_CORRUPT and reports it
// once (the server then stops); a full one refuses with FLEET_DB_FULL and stores again once space is back. Nothing
// is acknowledged that was not stored. SQLite result codes map to the fleet's codes.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dbFailure, stopsTheServer } from '../../broker/src/db/failure.js';
import { openDb } from '../../broker/src/db/open.js';
import type { FleetError } from '../../broker/src/errors.js';
import { createIngest } from '../../broker/src/fleet/ingest.js';
import { encodeMessage } from '../../shared/src/index.js';
import { corruptPages, pagesOf } from '../helpers/broken-db.js';
import { testLogger } from '../helpers/fleet.js';
import { tmpDir } from '../helpers/tmp.js';

function populatedDb() {
  const file = join(tmpDir('edgeward-ingest-failure-'), 'fleet.db');
  const db = openDb(file);
  db.prepare(`INSERT INTO devices (id, status, created_at) VALUES ('gw-a01', 'active', 0)`).run();
  const insert = db.prepare(
    'INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) ' +
      `VALUES ('gw-a01', ?, ?, 0, 0, '{}')`,
  );
  db.transaction(() => {
    for (let seq = 1; seq <= 3000; seq++) insert.run('stream-0001', seq);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  return { db, file };
}

const telemetry = (seq: number, samples = 1): Buffer =>
  encodeMessage({
    v: 1,
    id: `msg-${String(seq).padStart(8, '0')}`,
    ts: Date.now(),
    stream: 'stream-0001',
    samples: Array.from({ length: samples }, (_, i) => ({ seq: seq + i, ts: Date.now(), m: { t: i, u: i * 2 } })),
  });

function submit(ingest: ReturnType<typeof createIngest>, payload: Buffer): Promise<Error | null> {
  return new Promise((resolve) =>
    ingest.submit('gw-a01', 'telemetry', 'fleet/v1/gw-a01/telemetry', payload, (err) => resolve(err ?? null)),
  );
}

for (const threaded of [true, false]) {
  const mode = threaded ? 'on its thread' : 'on the main thread';
  test(`${mode}: a damaged database refuses every message (FLEET_DB_CORRUPT) and reports it once`, async () => {
    const { db: setup, file } = populatedDb();
    const pages = pagesOf(setup, ['telemetry']);
    setup.close();
    corruptPages(file, pages);
    const db = openDb(file); // the header and the schema are intact: only the telemetry pages are damaged
    const fatal: FleetError[] = [];
    const ingest = createIngest(db, {
      log: testLogger(),
      ...(threaded ? { thread: { file } } : {}),
      onFatal: (err) => fatal.push(err),
    });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => submit(ingest, telemetry(5000 + i))));
    assert.ok(
      results.every((r) => (r as { code?: string } | null)?.code === 'FLEET_DB_CORRUPT'),
      'none acknowledged',
    );
    assert.is(fatal.length, 1);
    assert.is(fatal[0]!.code, 'FLEET_DB_CORRUPT');
    assert.match(fatal[0]!.message, /fleet\.db is damaged .*restore the database from a backup/);
    // From then on, refused at once, with the same reason.
    assert.is(await submit(ingest, telemetry(6000)), fatal[0]!);
    await ingest.close();
    db.close();
  });
}

test('a full database refuses a batch (FLEET_DB_FULL) without stopping, and stores once it can grow', async () => {
  const { db } = populatedDb();
  const fatal: FleetError[] = [];
  const ingest = createIngest(db, { log: testLogger(), onFatal: (err) => fatal.push(err) });
  const count = db.prepare(`SELECT count(*) FROM telemetry WHERE seq > 3000`).pluck();
  // SQLite's own cap on the file's pages stands in for the disk: no new page can be allocated.
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${pages}`);
  const refused = await submit(ingest, telemetry(4000, 200));
  assert.is((refused as { code?: string } | null)?.code, 'FLEET_DB_FULL', String(refused));
  assert.match(refused!.message, /the disk is full/);
  assert.is(count.get(), 0, 'nothing of it stored');
  assert.equal(fatal, [], 'a full disk does not stop ingest');
  db.pragma(`max_page_count = ${pages * 10}`);
  assert.is(await submit(ingest, telemetry(4000, 200)), null, 'the resend is stored');
  assert.is(count.get(), 200);
  await ingest.close();
  db.close();
});

test('SQLite result codes map to the fleet codes; damage and I/O errors stop the server, a full disk does not', () => {
  const rows: [sqlite: string, code: string | undefined, stops: boolean][] = [
    ['SQLITE_CORRUPT', 'FLEET_DB_CORRUPT', true],
    ['SQLITE_CORRUPT_INDEX', 'FLEET_DB_CORRUPT', true],
    ['SQLITE_NOTADB', 'FLEET_DB_CORRUPT', true],
    ['SQLITE_IOERR_WRITE', 'FLEET_DB_IO', true],
    ['SQLITE_IOERR_FSYNC', 'FLEET_DB_IO', true],
    ['SQLITE_CANTOPEN', 'FLEET_DB_IO', true],
    ['SQLITE_READONLY', 'FLEET_DB_IO', true],
    ['SQLITE_FULL', 'FLEET_DB_FULL', false],
    ['SQLITE_BUSY', undefined, false],
    ['SQLITE_CONSTRAINT_UNIQUE', undefined, false],
  ];
  for (const [sqlite, code, stops] of rows) {
    const err = Object.assign(new Error('what SQLite said'), { code: sqlite });
    const failure = dbFailure(err, '/data/fleet.db');
    assert.is(failure?.code, code, sqlite);
    assert.is(stopsTheServer(failure), stops, sqlite);
    if (failure) assert.match(failure.message, new RegExp(`^/data/fleet\\.db .*\\(${sqlite}: what SQLite said\\)`));
  }
  assert.is(dbFailure(new Error('no code')), undefined);
});

test.run();
