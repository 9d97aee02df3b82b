// The ingest thread: decodes, validates and stores device messages on its own connection to the fleet database,
// so that neither SQLite's work and the CBOR checks nor the fsync of every commit stall the MQTT event loop.
// Batches that queue up while one commits are stored together in the next transaction (group commit); the main
// thread sends the PUBACKs when a batch's result comes back.
import { isMainThread, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { Channel, DecodedMessage } from '../../../shared/src/index.js';
import { openDb } from '../db/open.js';
import { createIngestStore, judgeMessage, type StoreItem } from './ingest-store.js';

export interface ThreadInit {
  readonly file: string;
  readonly synchronous: 'FULL' | 'NORMAL';
}

export interface ThreadItem {
  readonly deviceId: string;
  readonly channel: Channel;
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly receivedAt: number;
}

export type ThreadRequest =
  | { readonly type: 'batch'; readonly id: number; readonly items: readonly ThreadItem[]; readonly wantMessages: boolean }
  | { readonly type: 'close' };

export type Outcome =
  | { readonly inserted: number; readonly decoded?: DecodedMessage }
  | { readonly rejected: { readonly code: string; readonly message: string } };

export type ThreadReply =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly id: number; readonly storedAt: number; readonly outcomes: readonly Outcome[] }
  | { readonly type: 'failed'; readonly id: number; readonly message: string }
  | { readonly type: 'closed' };

/** Judges and stores one batch: the work both the thread and the main-thread fallback do. */
export function storeBatch(store: ReturnType<typeof createIngestStore>, items: readonly ThreadItem[], wantMessages: boolean, now: () => number): { storedAt: number; outcomes: Outcome[] } {
  const judged = items.map((raw): StoreItem => {
    const j = judgeMessage(raw.deviceId, raw.channel, raw.payload);
    return j.ok
      ? { kind: 'message', deviceId: raw.deviceId, decoded: j.decoded, receivedAt: raw.receivedAt }
      : { kind: 'reject', deviceId: raw.deviceId, topic: raw.topic, code: j.code, message: j.message, size: raw.payload.length, receivedAt: raw.receivedAt };
  });
  const results = store.writeBatch(judged, now());
  const outcomes = judged.map((item, i): Outcome => {
    if (item.kind === 'reject') return { rejected: { code: item.code, message: item.message } };
    return wantMessages ? { inserted: results[i]!, decoded: item.decoded } : { inserted: results[i]! };
  });
  return { storedAt: now(), outcomes };
}

if (!isMainThread && parentPort && (workerData as Partial<ThreadInit> | null)?.file) {
  const port = parentPort;
  const init = workerData as ThreadInit;
  const db = openDb(init.file, { synchronous: init.synchronous });
  const store = createIngestStore(db);
  port.on('message', (first: ThreadRequest) => {
    // Everything already waiting goes into the same transaction.
    const requests = [first];
    for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) requests.push(next.message as ThreadRequest);
    const batches = requests.filter((r): r is Extract<ThreadRequest, { type: 'batch' }> => r.type === 'batch');
    if (batches.length > 0) {
      try {
        const items = batches.length === 1 ? batches[0]!.items : batches.flatMap((b) => b.items);
        const { storedAt, outcomes } = storeBatch(store, items, batches.some((b) => b.wantMessages), Date.now);
        let at = 0;
        for (const b of batches) {
          port.postMessage({ type: 'result', id: b.id, storedAt, outcomes: outcomes.slice(at, at + b.items.length) } satisfies ThreadReply);
          at += b.items.length;
        }
      } catch (err) {
        for (const b of batches) port.postMessage({ type: 'failed', id: b.id, message: (err as Error)?.message ?? String(err) } satisfies ThreadReply);
      }
    }
    if (requests.some((r) => r.type === 'close')) {
      db.close();
      port.postMessage({ type: 'closed' } satisfies ThreadReply);
      port.close();
    }
  });
  port.postMessage({ type: 'ready' } satisfies ThreadReply);
}
