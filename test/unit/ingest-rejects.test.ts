// Rejected device messages are kept as one row per device, error code and minute (count, first and latest time,
// latest reason), so a device sending garbage cannot grow ingest_rejects without bound; migration 10 folds the
// rows of older databases the same way.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { migrations } from '../../broker/src/db/migrations.js';
import { migrate, openDb } from '../../broker/src/db/open.js';
import { createIngest } from '../../broker/src/fleet/ingest.js';
import { encode } from '../../shared/src/index.js';
import { testLogger } from '../helpers/fleet.js';
import { tmpDir } from '../helpers/tmp.js';

function submit(ingest: ReturnType<typeof createIngest>, deviceId: string, payload: Buffer): Promise<Error | null> {
  return new Promise((resolve) =>
    ingest.submit(deviceId, 'telemetry', `fleet/v1/${deviceId}/telemetry`, payload, (err) => resolve(err ?? null)),
  );
}

interface RejectRow {
  device_id: string;
  code: string;
  count: number;
  at: number;
  last_at: number;
  message: string;
}

test('a flood of rejected messages: one row per device, code and minute, with the count', async () => {
  const db = openDb(join(tmpDir('edgeward-rejects-'), 'fleet.db'));
  for (const id of ['gw-a01', 'gw-b02'])
    db.prepare(`INSERT INTO devices (id, status, created_at) VALUES (?, 'active', 0)`).run(id);
  let clock = Date.UTC(2026, 0, 1, 12, 0, 0);
  const ingest = createIngest(db, { log: testLogger(), now: () => clock });
  const notCbor = Buffer.from([0xff, 0x00]);
  const badSchema = encode({ v: 1, id: 'msg-bad-0001', ts: 0, stream: 'x', samples: [] });
  const results = await Promise.all([
    ...Array.from({ length: 300 }, () => submit(ingest, 'gw-a01', notCbor)),
    ...Array.from({ length: 200 }, () => submit(ingest, 'gw-a01', badSchema)),
    ...Array.from({ length: 100 }, () => submit(ingest, 'gw-b02', notCbor)),
  ]);
  assert.ok(
    results.every((r) => r === null),
    'poison messages are acknowledged',
  );
  clock += 10_000;
  assert.is(await submit(ingest, 'gw-a01', notCbor), null);
  const rows = () =>
    db
      .prepare(`SELECT device_id, code, count, at, last_at, message FROM ingest_rejects ORDER BY id`)
      .all() as RejectRow[];
  assert.equal(
    rows().map((r) => [r.device_id, r.code, r.count]),
    [
      ['gw-a01', 'PROTO_BAD_CBOR', 301],
      ['gw-a01', 'PROTO_INVALID_MESSAGE', 200],
      ['gw-b02', 'PROTO_BAD_CBOR', 100],
    ],
  );
  const first = rows()[0]!;
  assert.is(first.last_at - first.at, 10_000, 'first and latest times');
  // The next minute starts a new row; the per-device total counts every message.
  clock += 60_000;
  assert.is(await submit(ingest, 'gw-a01', notCbor), null);
  assert.is(rows().length, 4);
  assert.is(rows()[3]!.count, 1);
  assert.is(db.prepare(`SELECT rejected_count FROM devices WHERE id = 'gw-a01'`).pluck().get(), 502);
  await ingest.close();
  db.close();
});

// From version 7 (before the operator API), and from version 9 (the schema the operator API first shipped with).
for (const from of [7, 9]) {
  test(`migration 10 folds the rows of a version-${from} database per device, code and minute`, () => {
    const file = join(tmpDir('edgeward-rejects-'), 'fleet.db');
    const old = new Database(file);
    migrate(
      old,
      migrations.filter((m) => m.version <= from),
    );
    const insert = old.prepare(
      'INSERT INTO ingest_rejects (at, device_id, topic, code, message, size) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const minute = 60_000 * 1000;
    for (let i = 0; i < 5; i++) insert.run(minute + i * 1000, 'gw-a01', 't', 'PROTO_BAD_CBOR', `reason ${i}`, 10);
    insert.run(minute + 500, 'gw-a01', 't', 'PROTO_TOO_LARGE', 'too large', 99_999);
    insert.run(minute + 60_000, 'gw-a01', 't', 'PROTO_BAD_CBOR', 'next minute', 10);
    old.close();

    const db = openDb(file);
    const rows = db
      .prepare('SELECT device_id, minute, code, count, at, last_at, message FROM ingest_rejects ORDER BY id')
      .all() as (RejectRow & { minute: number })[];
    assert.equal(
      rows.map((r) => [r.minute, r.code, r.count, r.at, r.last_at, r.message]),
      [
        [1000, 'PROTO_BAD_CBOR', 5, minute, minute + 4000, 'reason 4'],
        [1000, 'PROTO_TOO_LARGE', 1, minute + 500, minute + 500, 'too large'],
        [1001, 'PROTO_BAD_CBOR', 1, minute + 60_000, minute + 60_000, 'next minute'],
      ],
    );
    assert.throws(
      () =>
        db
          .prepare(
            `INSERT INTO ingest_rejects (device_id, minute, code, count, at, last_at, topic, message, size) ` +
              `VALUES ('gw-a01', 1000, 'PROTO_TOO_LARGE', 1, 0, 0, 't', 'm', 1)`,
          )
          .run(),
      /UNIQUE/,
    );
    db.close();
  });
}

test.run();
