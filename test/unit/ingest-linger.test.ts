// The cluster's ingest writer (fleet/ingest-store-writer.ts) lingers: batches queued within its linger go in one
// transaction, a writer without one writes the first batch at once, and close() writes what lingers without waiting.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { storeWriter } from '../../broker/src/fleet/ingest-store-writer.js';
import type { StoreItem } from '../../broker/src/fleet/ingest-store.js';
import type { BatchOutcome, FleetStore } from '../../broker/src/store/types.js';
import { encodeMessage } from '../../shared/src/index.js';
import { wireBatch } from '../helpers/wire-batch.js';

/** A store that records each transaction's messages and stores every message. */
function fakeStore() {
  const transactions: string[][] = [];
  const store = {
    ingest: {
      writeBatch: async (items: readonly StoreItem[]): Promise<BatchOutcome[]> => {
        transactions.push(items.map((i) => i.deviceId));
        return items.map(() => ({ outcome: 'stored', samples: 1 }));
      },
    },
    registry: {},
  } as unknown as Pick<FleetStore, 'ingest' | 'registry'>;
  return { store, transactions };
}

const batch = (deviceId: string, seq: number) =>
  wireBatch([
    [
      deviceId,
      'telemetry',
      encodeMessage({ v: 1, id: `s-${seq}`, ts: 1, stream: 'st-1', samples: [{ seq, ts: 1, m: { t: 1 } }] }),
    ],
  ]);

const hooks = { onBackgroundFailed: () => {}, onPruned: () => {} };
const writerWith = (lingerMs: number) => {
  const f = fakeStore();
  return { ...f, writer: storeWriter({ store: f.store, now: Date.now, hooks, lingerMs }) };
};

test('batches queued within the linger go in one transaction', async () => {
  const { writer, transactions } = writerWith(300);
  const a = writer.write(batch('gw-a', 1), false);
  const b = writer.write(batch('gw-b', 1), false);
  await new Promise((r) => setImmediate(r));
  const c = writer.write(batch('gw-c', 1), false);
  assert.equal(transactions, [], 'nothing is written before the linger ends');
  await Promise.all([a, b, c]);
  assert.equal(transactions, [['gw-a', 'gw-b', 'gw-c']]);
  await writer.close();
});

test('without a linger the first batch is written at once, the rest together after it', async () => {
  const { writer, transactions } = writerWith(0);
  await Promise.all([writer.write(batch('gw-a', 1), false), writer.write(batch('gw-b', 1), false)]);
  assert.equal(transactions, [['gw-a'], ['gw-b']]);
  await writer.close();
});

test('close() writes what lingers without waiting for the linger', async () => {
  const { writer, transactions } = writerWith(60_000);
  const written = writer.write(batch('gw-a', 1), false);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((r) => (timer = setTimeout(() => r('still lingering after 5 s'), 5000)));
  assert.is(await Promise.race([writer.close().then(() => 'closed'), late]), 'closed');
  clearTimeout(timer);
  assert.equal(transactions, [['gw-a']]);
  assert.ok(await written);
});

test.run();
