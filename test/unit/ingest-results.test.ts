// Ingest's result codes, named once (ingest-result.ts) and used on both sides of the thread boundary: the store
// writes DUPLICATE and REJECTED, storeBatches (what the thread runs) carries them unchanged in its Int32Array, and
// sliceStored hands each batch its own part.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDb, type Db } from '../../broker/src/db/open.js';
import { DUPLICATE, REJECTED } from '../../broker/src/fleet/ingest-result.js';
import { createIngestStore, type StoreItem } from '../../broker/src/fleet/ingest-store.js';
import { sliceStored, storeBatches } from '../../broker/src/fleet/ingest-thread.js';
import { type DecodedMessage, encodeMessage } from '../../shared/src/index.js';
import { tmpDir } from '../helpers/tmp.js';
import { wireBatch } from '../helpers/wire-batch.js';

function freshDb(): Db {
  const db = openDb(join(tmpDir('edgeward-results-'), 'fleet.db'));
  db.prepare(`INSERT INTO devices (id, status, created_at) VALUES ('gw-a01', 'active', 0)`).run();
  return db;
}

const telemetry = (id: string, seqs: number[]) => ({
  v: 1 as const,
  id,
  ts: 0,
  stream: 'stream-0001',
  samples: seqs.map((seq) => ({ seq, ts: seq, m: { t: seq } })),
});
const status = (id: string) => ({ v: 1 as const, id, ts: 0, state: 'online' as const, agentVersion: '1.0.0' });

test('the codes are distinct negative 32-bit integers: never a count, and unchanged in an Int32Array', () => {
  assert.ok(DUPLICATE < 0 && REJECTED < 0 && DUPLICATE !== REJECTED);
  assert.equal([...Int32Array.from([DUPLICATE, REJECTED])], [DUPLICATE, REJECTED]);
});

test('the store answers each message with a count, DUPLICATE or REJECTED', () => {
  const db = freshDb();
  const store = createIngestStore(db);
  const message = (decoded: DecodedMessage): StoreItem => ({
    kind: 'message',
    deviceId: 'gw-a01',
    receivedAt: 0,
    decoded,
  });
  const items: StoreItem[] = [
    message({ kind: 'telemetry', message: telemetry('msg-00000001', [1, 2]) }),
    message({ kind: 'telemetry', message: telemetry('msg-00000002', [2]) }),
    message({ kind: 'status', message: status('msg-00000003') }),
    message({ kind: 'status', message: status('msg-00000003') }),
    {
      kind: 'reject',
      deviceId: 'gw-a01',
      topic: 'fleet/v1/gw-a01/telemetry',
      code: 'PROTO_BAD_CBOR',
      message: 'not CBOR',
      size: 2,
      receivedAt: 0,
    },
  ];
  assert.equal(store.writeBatch(items, 0), [2, DUPLICATE, 0, DUPLICATE, REJECTED]);
  assert.is(db.prepare('SELECT count FROM ingest_rejects').pluck().get(), 1, 'the reject is recorded');
  db.close();
});

test('storeBatches carries the codes across batches of one commit; sliceStored gives each batch its own', () => {
  const db = freshDb();
  const store = createIngestStore(db);
  const first = wireBatch([
    ['gw-a01', 'telemetry', encodeMessage(telemetry('msg-00000001', [1, 2, 3]))],
    ['gw-a01', 'telemetry', Uint8Array.from([0xff, 0x00])],
  ]);
  const second = wireBatch([
    ['gw-a01', 'telemetry', encodeMessage(telemetry('msg-00000002', [3]))],
    ['gw-a01', 'status', encodeMessage(status('msg-00000003'))],
    ['gw-a01', 'telemetry', Uint8Array.from([0xa1])],
  ]);
  const stored = storeBatches(store, [first, second], false, () => 0);
  assert.instance(stored.inserted, Int32Array);
  assert.equal([...stored.inserted], [3, REJECTED, DUPLICATE, 0, REJECTED]);
  assert.equal(
    stored.rejects.map((r) => [r.index, r.code]),
    [
      [1, 'PROTO_BAD_CBOR'],
      [4, 'PROTO_BAD_CBOR'],
    ],
  );
  const mine = sliceStored(stored, 2, 3);
  assert.equal([...mine.inserted], [DUPLICATE, 0, REJECTED]);
  assert.equal(
    mine.rejects.map((r) => r.index),
    [2],
  );
  db.close();
});

test.run();
