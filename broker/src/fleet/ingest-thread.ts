// The ingest thread: decodes, validates and stores device messages on its own connection to the fleet database,
// so that neither SQLite's work and the CBOR checks nor the fsync of every commit stall the MQTT event loop.
// Batches that queue up while one commits are stored together in the next transaction (group commit), and the
// thread answers once per commit, so the main thread sends all of that commit's PUBACKs in one go (one TLS
// record per device instead of one per message).
import { type MessagePort, parentPort, receiveMessageOnPort } from 'node:worker_threads';
import { CHANNELS, deviceTopic, EdgewardError, type DecodedMessage } from '../../../shared/src/index.js';
import { defineWorker, siblingModule } from '../../../shared/src/worker.js';
import { createCheckpoints, DEFAULT_CHECKPOINTS, type CheckpointPolicy } from '../db/checkpoint.js';
import { dbFailure } from '../db/failure.js';
import { openDb, type Db } from '../db/open.js';
import type { StorageKey } from '../../../shared/src/index.js';
import { DEFAULT_PRUNE_SCHEDULE, type Pruned, type Retention, schedulePruning } from './ingest-retention.js';
import { createOpener, type Opener, type SealingInit } from './ingest-open.js';
import { createIngestStore, judgeMessage, type IngestStore, type StoreItem } from './ingest-store.js';

/** WAL pages after which the ingest thread's commit checkpoints the database. */
const WAL_CHECKPOINT_PAGES = 8000;

export interface ThreadInit {
  readonly file: string;
  readonly synchronous: 'FULL' | 'NORMAL';
  /** Time-based WAL checkpoints (tests shorten them); DEFAULT_CHECKPOINTS otherwise. */
  readonly checkpoints?: CheckpointPolicy;
  /** What retention deletes, in the thread's idle time; nothing without it. */
  readonly retention?: Retention;
  /** Open sealed device messages here (ingest-open.ts); without it payloads are judged as they came. */
  readonly sealing?: SealingInit;
  /** The folder's storage key (encrypted at rest); copied to the thread with the rest of its init. */
  readonly storageKey?: StorageKey;
}

/**
 * The ingest thread runs this module: from the sources ingest-thread.ts; in the bundles (dist/fleet.js,
 * dist/fleet-sim.js), which hold a copy of this module for its types and storeBatches, dist/ingest-thread.js.
 */
export const INGEST_WORKER = defineWorker<ThreadInit>(
  'edgeward-ingest-thread',
  siblingModule(import.meta.url, 'ingest-thread'),
);

/**
 * A batch of device messages as it crosses to the thread: the payloads back to back in one buffer, the rest in
 * typed arrays. All of them are moved (transferred), not copied, so a batch costs one transfer rather than a
 * structured clone per message.
 */
export interface WireBatch {
  readonly deviceIds: readonly string[];
  /** Each message's channel, as its index in CHANNELS. */
  readonly channels: Uint8Array;
  readonly receivedAt: Float64Array;
  /** Message i's payload is bytes[ends[i - 1] ?? 0, ends[i]). */
  readonly ends: Uint32Array;
  readonly bytes: Uint8Array;
}

/** The buffers a postMessage of this batch moves to the other thread. */
export const wireTransfer = (b: WireBatch): ArrayBuffer[] =>
  [b.channels.buffer, b.receivedAt.buffer, b.ends.buffer, b.bytes.buffer] as ArrayBuffer[];

/** What one batch's transaction did, message by message. */
export interface Stored {
  readonly storedAt: number;
  /** Per message, its MessageResult: samples newly stored (0 for another stored message), DUPLICATE or REJECTED. */
  readonly inserted: Int32Array;
  /** Why each REJECTED message was refused, by its index in the batch. */
  readonly rejects: readonly { readonly index: number; readonly code: string; readonly message: string }[];
  /** The decoded messages by index (undefined for a reject), when they were asked for. */
  readonly decoded?: readonly (DecodedMessage | undefined)[];
}

export type ThreadRequest =
  | { readonly type: 'batch'; readonly id: number; readonly batch: WireBatch; readonly wantMessages: boolean }
  | { readonly type: 'close' };

/** The thread's own work, besides storing batches. */
export type BackgroundTask = 'checkpoint' | 'retention';

export type ThreadReply =
  | { readonly type: 'ready' }
  /** One commit: `stored` covers the batches `ids`, in that order. */
  | { readonly type: 'result'; readonly ids: readonly number[]; readonly stored: Stored }
  /** The commit of batches `ids` failed; `code` when the failure has one (FLEET_DB_CORRUPT, FLEET_DB_FULL…). */
  | { readonly type: 'failed'; readonly ids: readonly number[]; readonly code?: string; readonly message: string }
  /** The thread could not open the database or read what ingest needs from it; it has stopped. */
  | { readonly type: 'unusable'; readonly code?: string; readonly message: string }
  /**
   * Work of the thread's own failed: a time-based checkpoint or a retention transaction (the next waits a while).
   * Ingest goes on unless the database is unusable.
   */
  | {
      readonly type: 'background-failed';
      readonly task: BackgroundTask;
      readonly code?: string;
      readonly message: string;
    }
  /** A retention transaction deleted old rows. */
  | { readonly type: 'pruned'; readonly pruned: Pruned }
  | { readonly type: 'closed' };

/** Opens (when sealed) and judges every message of the batches, in order: what one transaction writes. */
export function judgeBatches(batches: readonly WireBatch[], opener?: Opener): StoreItem[] {
  const judged: StoreItem[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.deviceIds.length; i++) {
      const deviceId = b.deviceIds[i]!;
      const channel = CHANNELS[b.channels[i]!]!;
      const payload = b.bytes.subarray(i === 0 ? 0 : b.ends[i - 1]!, b.ends[i]!);
      const receivedAt = b.receivedAt[i]!;
      const opened = opener ? opener.open(deviceId, channel, payload) : { ok: true as const, payload };
      const j = opened.ok ? judgeMessage(deviceId, channel, opened.payload) : opened;
      judged.push(
        j.ok
          ? { kind: 'message', deviceId, decoded: j.decoded, receivedAt }
          : {
              kind: 'reject',
              deviceId,
              topic: deviceTopic(deviceId, channel),
              code: j.code,
              message: j.message,
              size: payload.length,
              receivedAt,
            },
      );
    }
  }
  return judged;
}

/**
 * What a transaction did with the judged items, from the store's result per item. `refusals`: why an item the store
 * refused although it was judged valid is REJECTED (an engine's own refusal, by index).
 */
export function storedOf(
  judged: readonly StoreItem[],
  inserted: Int32Array,
  wantMessages: boolean,
  storedAt: number,
  refusals?: ReadonlyMap<number, { code: string; message: string }>,
): Stored {
  const rejects: { index: number; code: string; message: string }[] = [];
  const decoded: (DecodedMessage | undefined)[] | undefined = wantMessages ? [] : undefined;
  judged.forEach((item, i) => {
    const refused = refusals?.get(i);
    if (item.kind === 'reject') {
      rejects.push({ index: i, code: item.code, message: item.message });
      decoded?.push(undefined);
    } else if (refused) {
      rejects.push({ index: i, ...refused });
      decoded?.push(undefined);
    } else decoded?.push(item.decoded);
  });
  return { storedAt, inserted, rejects, ...(decoded ? { decoded } : {}) };
}

/** Judges and stores batches in one transaction: the work both the thread and the main-thread fallback do. */
export function storeBatches(
  store: IngestStore,
  batches: readonly WireBatch[],
  wantMessages: boolean,
  now: () => number,
  opener?: Opener,
): Stored {
  const judged = judgeBatches(batches, opener);
  const inserted = Int32Array.from(store.writeBatch(judged, now()));
  return storedOf(judged, inserted, wantMessages, now());
}

/** The part of a commit's result that belongs to the batch at [start, start + length). */
export function sliceStored(s: Stored, start: number, length: number): Stored {
  if (start === 0 && length === s.inserted.length) return s;
  return {
    storedAt: s.storedAt,
    inserted: s.inserted.subarray(start, start + length),
    rejects: s.rejects
      .filter((r) => r.index >= start && r.index < start + length)
      .map((r) => ({ ...r, index: r.index - start })),
    ...(s.decoded ? { decoded: s.decoded.slice(start, start + length) } : {}),
  };
}

/** A failure as it crosses to the main thread: its code (a FleetError's, e.g. FLEET_DB_CORRUPT) and message. */
function describeFailure(err: unknown, file: string): { code?: string; message: string } {
  const failure = err instanceof EdgewardError ? err : dbFailure(err, file);
  const message = (failure ?? (err as Error))?.message ?? String(err);
  return failure ? { code: failure.code, message } : { message };
}

/** The thread's connection and its store; the connection is closed again if the store cannot be made. */
function openStore(init: ThreadInit): { db: Db; store: IngestStore; opener?: Opener } {
  const db = openDb(init.file, { synchronous: init.synchronous, storageKey: init.storageKey });
  try {
    // This connection writes nearly everything, so it checkpoints (the main thread's does not: see ingest.ts), and
    // lets the WAL grow to 8,000 pages (32 MiB) first: a page rewritten by many commits is copied once, not ~8
    // times. Measured: ~2.5% more messages/s than SQLite's 1,000. The time-based checkpoints bound it on a quiet
    // server, where 8,000 pages may take hours to come.
    db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    const store = createIngestStore(db, init.retention);
    return { db, store, ...(init.sealing ? { opener: createOpener(db, init.sealing) } : {}) };
  } catch (err) {
    db.close();
    throw err;
  }
}

function runThread(port: MessagePort, init: ThreadInit): void {
  let opened: { db: Db; store: IngestStore; opener?: Opener };
  try {
    opened = openStore(init);
  } catch (err) {
    port.postMessage({ type: 'unusable', ...describeFailure(err, init.file) } satisfies ThreadReply);
    port.close();
    return;
  }
  const { db, store, opener } = opened;
  const policy = init.checkpoints ?? DEFAULT_CHECKPOINTS;
  const checkpoints = createCheckpoints(db, policy, Date.now());
  /** A failure of the thread's own work is reported (the main thread decides), never thrown out of the thread. */
  const backgroundFailed = (task: BackgroundTask, err: unknown) =>
    port.postMessage({ type: 'background-failed', task, ...describeFailure(err, init.file) } satisfies ThreadReply);
  const checkpoint = (run: (at: number) => void) => {
    try {
      run(Date.now());
    } catch (err) {
      backgroundFailed('checkpoint', err);
    }
  };
  const timer = setInterval(() => checkpoint(checkpoints.idle), Math.min(1000, policy.idleMs));
  // Retention runs between the batches, a small transaction at a time, never inside a batch's transaction.
  const pruning =
    store.retains &&
    schedulePruning(() => store.prune(Date.now()), {
      ...DEFAULT_PRUNE_SCHEDULE,
      onPruned: (pruned) => port.postMessage({ type: 'pruned', pruned } satisfies ThreadReply),
      onFailed: (err) => backgroundFailed('retention', err),
    });
  port.on('message', (first: ThreadRequest) => {
    // Everything already waiting goes into the same transaction.
    const requests = [first];
    for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port))
      requests.push(next.message as ThreadRequest);
    const batches = requests.filter((r): r is Extract<ThreadRequest, { type: 'batch' }> => r.type === 'batch');
    if (batches.length > 0) {
      const ids = batches.map((b) => b.id);
      try {
        const stored = storeBatches(
          store,
          batches.map((b) => b.batch),
          batches.some((b) => b.wantMessages),
          Date.now,
          opener,
        );
        port.postMessage({ type: 'result', ids, stored } satisfies ThreadReply, [
          stored.inserted.buffer as ArrayBuffer,
        ]);
        // After the reply, so the PUBACKs do not wait for it.
        checkpoint(checkpoints.committed);
      } catch (err) {
        port.postMessage({ type: 'failed', ids, ...describeFailure(err, init.file) } satisfies ThreadReply);
      }
    }
    if (requests.some((r) => r.type === 'close')) {
      clearInterval(timer);
      if (pruning) pruning.stop();
      db.close();
      port.postMessage({ type: 'closed' } satisfies ThreadReply);
      port.close();
    }
  });
  port.postMessage({ type: 'ready' } satisfies ThreadReply);
}

if (INGEST_WORKER.input && parentPort) runThread(parentPort, INGEST_WORKER.input);
