// Ingest on its own thread, against a real SQLite file: every message is acknowledged only after its commit,
// in both modes the same rows, duplicates and poison messages come out, and close() stores what is queued.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDb } from '../../broker/src/db/open.js';
import { createIngest, type StoredEvent } from '../../broker/src/fleet/ingest.js';
import { createLogger, encodeMessage, type TelemetryMessage } from '../../shared/src/index.js';
import { testLogger } from '../helpers/fleet.js';
import { tmpDir } from '../helpers/tmp.js';

function freshDb() {
  const file = join(tmpDir('edgeward-ingest-'), 'fleet.db');
  const db = openDb(file);
  for (const id of ['gw-a01', 'gw-b02'])
    db.prepare(`INSERT INTO devices (id, status, created_at) VALUES (?, 'active', 0)`).run(id);
  return { db, file };
}

const telemetry = (seq: number): Buffer =>
  encodeMessage({
    v: 1,
    id: `msg-${String(seq).padStart(8, '0')}`,
    ts: Date.now(),
    stream: 'stream-0001',
    samples: [{ seq, ts: Date.now(), m: { t: seq } }],
  } satisfies TelemetryMessage);

/** Submits and resolves with the error (or null) its `done` gets. */
function submit(ingest: ReturnType<typeof createIngest>, deviceId: string, payload: Buffer): Promise<Error | null> {
  return new Promise((resolve) =>
    ingest.submit(deviceId, 'telemetry', `fleet/v1/${deviceId}/telemetry`, payload, (err) => resolve(err ?? null)),
  );
}

for (const threaded of [true, false]) {
  const mode = threaded ? 'on its thread' : 'on the main thread';

  test(`${mode}: acknowledged means committed; duplicates and poison messages acknowledged, stored once`, async () => {
    const { db, file } = freshDb();
    const stored: StoredEvent[] = [];
    const rejected: string[] = [];
    const ingest = createIngest(db, {
      log: testLogger(),
      ...(threaded ? { thread: { file } } : {}),
      onStored: (e) => stored.push(e),
      onRejected: (_id, code) => rejected.push(code),
    });
    const count = db.prepare(`SELECT count(*) FROM telemetry WHERE device_id = ?`).pluck();
    // With a thread, only the thread's connection checkpoints the WAL (never a commit on this one).
    assert.is(db.pragma('wal_autocheckpoint', { simple: true }), threaded ? 0 : 1000);
    // 300 messages from two devices at once: several batches, grouped by the thread as they meet.
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        submit(ingest, i % 2 ? 'gw-b02' : 'gw-a01', telemetry(Math.floor(i / 2) + 1)),
      ),
    );
    assert.ok(results.every((r) => r === null));
    assert.is(count.get('gw-a01'), 150);
    assert.is(count.get('gw-b02'), 150);
    assert.is(stored.length, 300);
    assert.is(stored.filter((e) => e.kind === 'telemetry' && e.inserted === 1).length, 300);

    // A payload larger than the batch buffer's first size (it grows, earlier payloads intact).
    const big = encodeMessage({
      v: 1,
      id: 'msg-big-0001',
      ts: Date.now(),
      stream: 'stream-0002',
      samples: Array.from({ length: 300 }, (_, i) => ({ seq: i + 1, ts: 1, m: { t: i, u: i * 2 } })),
    });
    assert.ok(big.length > 4096);
    const [small, large] = await Promise.all([
      submit(ingest, 'gw-b02', telemetry(1000)),
      submit(ingest, 'gw-b02', big),
    ]);
    assert.equal([small, large], [null, null]);
    assert.is(count.get('gw-b02'), 451);
    assert.is(
      db
        .prepare(`SELECT metrics FROM telemetry WHERE device_id = 'gw-b02' AND stream = 'stream-0002' AND seq = 300`)
        .pluck()
        .get(),
      '{"t":299,"u":598}',
    );

    assert.is(await submit(ingest, 'gw-a01', telemetry(7)), null); // a resend: acknowledged, stored once
    assert.is(await submit(ingest, 'gw-a01', Buffer.from([0xff, 0x00])), null); // poison: acknowledged, recorded
    assert.is(count.get('gw-a01'), 150);
    assert.equal(rejected, ['PROTO_BAD_CBOR']);
    assert.is(db.prepare(`SELECT code FROM ingest_rejects`).pluck().get(), 'PROTO_BAD_CBOR');
    const s = ingest.stats();
    assert.is(s.messages, 302);
    assert.is(s.duplicates, 1);
    assert.is(s.rejected, 1);
    assert.is(db.prepare(`SELECT telemetry_count FROM devices WHERE id = 'gw-b02'`).pluck().get(), 451);

    // close() stores what is still queued before it resolves, and refuses later work.
    const late = submit(ingest, 'gw-b02', telemetry(151));
    await ingest.close();
    assert.is(await late, null);
    assert.is(count.get('gw-b02'), 452);
    assert.instance(await submit(ingest, 'gw-b02', telemetry(152)), Error);
    db.close();
  });
}

test('on its thread: the thread has its own connection, so a commit never waits on this thread', async () => {
  const { db, file } = freshDb();
  const ingest = createIngest(db, { log: testLogger(), thread: { file } });
  // Hold a read transaction open on the main connection: WAL readers do not block the thread's writes.
  db.prepare('BEGIN').run();
  db.prepare('SELECT count(*) FROM telemetry').pluck().get();
  assert.is(await submit(ingest, 'gw-a01', telemetry(1)), null);
  db.prepare('COMMIT').run();
  assert.is(db.prepare(`SELECT count(*) FROM telemetry`).pluck().get(), 1);
  await ingest.close();
  db.close();
});

test(
  'a thread that cannot start: every message is stored on the main thread instead, none ' + 'refused, with a warning',
  async () => {
    const { db } = freshDb();
    const lines: string[] = [];
    const log = createLogger({ write: (l) => void lines.push(l), level: 'warn' });
    // The thread's own connection cannot open this file, so it fails before it is ready.
    const ingest = createIngest(db, { log, thread: { file: join(tmpDir('edgeward-ingest-'), 'missing', 'fleet.db') } });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => submit(ingest, 'gw-a01', telemetry(i + 1))),
    );
    assert.ok(results.every((r) => r === null));
    assert.is(db.prepare(`SELECT count(*) FROM telemetry WHERE device_id = 'gw-a01'`).pluck().get(), 100);
    assert.ok(
      lines.some((l) => l.includes('ingest thread did not start')),
      lines.join(''),
    );
    assert.is(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'this connection checkpoints again');
    await ingest.close();
    db.close();
  },
);

test.run();
