// Ingest: validates device messages and stores them in batched transactions. A message is acknowledged
// (PUBACK) only after its transaction commits, so an acknowledged sample is a stored sample.
//
// The fleet server ingests on a worker thread with its own connection to the database (`thread`): decoding,
// validation and SQLite — and the fsync of every commit — then never stall the MQTT event loop, and the next
// batches that arrive while one commits are stored together in the next transaction.
// Without `thread` the same work runs on this thread through `db` (tools and tests).
import type { Channel, DecodedMessage, Logger } from '../../../shared/src/index.js';
import { startWorker } from '../../../shared/src/worker.js';
import type { Db } from '../db/open.js';
import { createIngestStore } from './ingest-store.js';
import { storeBatch, type Outcome, type ThreadInit, type ThreadItem, type ThreadReply, type ThreadRequest } from './ingest-thread.js';

export type Done = (err?: Error | null) => void;

export interface IngestStats {
  /** Messages waiting to be stored (queued or being committed), and how long the oldest has waited (ms). */
  queued: number;
  oldestQueuedMs: number;
  messages: number;
  samples: number;
  duplicates: number;
  rejected: number;
  batches: number;
  /** Largest time a message waited between arrival and commit, since the last read (ms). */
  maxLagMs: number;
}

export type StoredEvent = DecodedMessage & {
  readonly deviceId: string;
  readonly receivedAt: number;
  readonly storedAt: number;
  /** Samples newly stored (0 for a duplicate). */
  readonly inserted: number;
};

export interface IngestOptions {
  readonly log: Logger;
  readonly now?: () => number;
  /** Most messages in one transaction. */
  readonly maxBatch?: number;
  /**
   * Called after each commit for every message it stored (latency measurement, live views). With a thread the
   * decoded message is copied back for it, so pass it only when it is used.
   */
  readonly onStored?: (e: StoredEvent) => void;
  /** Called after each commit for every message that stored samples (cheap: counters). */
  readonly onSamples?: (deviceId: string, inserted: number) => void;
  readonly onRejected?: (deviceId: string, code: string) => void;
  /** Store on a worker thread with its own connection to this database file (the fleet server). */
  readonly thread?: { readonly file: string; readonly synchronous?: 'FULL' | 'NORMAL' };
}

interface Pending extends ThreadItem {
  readonly done: Done;
}

/** Writes one batch; resolves with one outcome per item in order, rejects when nothing was stored. */
interface Writer {
  write(items: readonly ThreadItem[], wantMessages: boolean): Promise<{ storedAt: number; outcomes: readonly Outcome[] }>;
  close(): Promise<void>;
}

export type Ingest = ReturnType<typeof createIngest>;

const EAGER_FLUSH = 64;

function inlineWriter(db: Db, now: () => number): Writer {
  const store = createIngestStore(db);
  return {
    write: async (items, wantMessages) => storeBatch(store, items, wantMessages, now),
    close: async () => undefined,
  };
}

// In the bundles (dist/fleet.js, dist/fleet-sim.js) the thread is dist/ingest-thread.js; from the sources, the .ts.
const THREAD_MODULE = new URL(import.meta.url.endsWith('.ts') ? './ingest-thread.ts' : './ingest-thread.js', import.meta.url);

/**
 * The ingest thread. If it cannot start (a broken install), ingest falls back to this thread with a warning
 * rather than refusing every message; if it fails later, the batch in flight is refused (the devices resend it)
 * and a new thread is started for the next one.
 */
function threadWriter(init: ThreadInit, db: Db, now: () => number, log: Logger): Writer {
  type Sent = { items: readonly ThreadItem[]; wantMessages: boolean; resolve: (r: { storedAt: number; outcomes: readonly Outcome[] }) => void; reject: (e: Error) => void };
  let worker: ReturnType<typeof startWorker> | undefined;
  let ready = false;
  let fallback: Writer | undefined;
  let nextId = 1;
  const sent = new Map<number, Sent>();
  let closing: (() => void) | undefined;

  const failed = (message: string) => {
    const lost = [...sent.values()];
    sent.clear();
    const w = worker;
    worker = undefined;
    if (w) void w.terminate();
    if (!ready && !closing) {
      log.warn('ingest thread did not start; storing on the main thread', { reason: message });
      fallback = inlineWriter(db, now);
      for (const f of lost) fallback.write(f.items, f.wantMessages).then(f.resolve, f.reject);
      return;
    }
    ready = false;
    if (closing) closing();
    else log.error('ingest thread failed; the batches in flight are refused and resent by the devices', { reason: message, batches: lost.length });
    for (const f of lost) f.reject(new Error(`ingest thread failed: ${message}`));
  };

  const start = () => {
    const w = startWorker(THREAD_MODULE, { workerData: init });
    w.on('message', (reply: ThreadReply) => {
      if (reply.type === 'ready') ready = true;
      else if (reply.type === 'closed') closing?.();
      else {
        const f = sent.get(reply.id);
        if (!f) return;
        sent.delete(reply.id);
        if (reply.type === 'result') f.resolve({ storedAt: reply.storedAt, outcomes: reply.outcomes });
        else f.reject(new Error(reply.message));
      }
    });
    w.on('error', (err) => failed(err.message));
    w.on('exit', (code) => {
      if (worker === w) failed(`exited with code ${code}`);
    });
    return w;
  };

  return {
    write(items, wantMessages) {
      if (fallback) return fallback.write(items, wantMessages);
      worker ??= start();
      return new Promise((resolve, reject) => {
        const id = nextId++;
        // Only the data crosses (the items also carry their `done` callbacks).
        const plain = items.map(({ deviceId, channel, topic, payload, receivedAt }): ThreadItem => ({ deviceId, channel, topic, payload, receivedAt }));
        try {
          worker!.postMessage({ type: 'batch', id, items: plain, wantMessages } satisfies ThreadRequest);
          sent.set(id, { items: plain, wantMessages, resolve, reject });
        } catch (err) {
          reject(err as Error);
        }
      });
    },
    close() {
      const w = worker;
      if (!w) return Promise.resolve();
      return new Promise<void>((resolve) => {
        closing = () => {
          closing = undefined;
          worker = undefined;
          void w.terminate().then(() => resolve());
        };
        w.postMessage({ type: 'close' } satisfies ThreadRequest);
      });
    },
  };
}

export function createIngest(db: Db, opts: IngestOptions) {
  const now = opts.now ?? Date.now;
  const maxBatch = opts.maxBatch ?? 1000;
  // With a thread, a batch goes as soon as this many messages wait, not only at the end of the event-loop turn:
  // the thread commits while this thread still reads sockets (measured: ~10% more messages/s in the benchmark).
  const eagerFlush = opts.thread ? EAGER_FLUSH : 0;
  const stats: IngestStats = { queued: 0, oldestQueuedMs: 0, messages: 0, samples: 0, duplicates: 0, rejected: 0, batches: 0, maxLagMs: 0 };
  const writer = opts.thread ? threadWriter({ file: opts.thread.file, synchronous: opts.thread.synchronous ?? 'FULL' }, db, now, opts.log) : inlineWriter(db, now);
  const wantMessages = opts.onStored !== undefined;
  let queue: Pending[] = [];
  /** Batches handed to the writer and not settled yet, oldest first. */
  const writing: Pending[][] = [];
  let scheduled = false;
  let closed = false;
  let idle: (() => void) | undefined;

  function settle(batch: readonly Pending[], storedAt: number, outcomes: readonly Outcome[]): void {
    stats.batches++;
    batch.forEach((item, i) => {
      stats.maxLagMs = Math.max(stats.maxLagMs, storedAt - item.receivedAt);
      const o = outcomes[i]!;
      if ('rejected' in o) {
        // Acknowledged but never stored, so one poison message cannot make a device resend forever; it is
        // counted, logged and kept in ingest_rejects.
        stats.rejected++;
        opts.log.warn('rejected device message', { deviceId: item.deviceId, topic: item.topic, code: o.rejected.code, reason: o.rejected.message.slice(0, 300), size: item.payload.length });
        opts.onRejected?.(item.deviceId, o.rejected.code);
      } else {
        if (o.inserted < 0) stats.duplicates++;
        else {
          stats.messages++;
          stats.samples += o.inserted;
          if (o.inserted > 0) opts.onSamples?.(item.deviceId, o.inserted);
        }
        if (o.decoded) opts.onStored?.({ ...o.decoded, deviceId: item.deviceId, receivedAt: item.receivedAt, storedAt, inserted: Math.max(0, o.inserted) });
      }
      item.done();
    });
  }

  function finished(batch: Pending[]): void {
    writing.splice(writing.indexOf(batch), 1);
    if (queue.length > 0) flush();
    else if (writing.length === 0) idle?.();
  }

  /** Hands what is queued to the writer. The thread stores batches that meet there in one transaction. */
  function flush(): void {
    scheduled = false;
    if (queue.length === 0) {
      if (writing.length === 0) idle?.();
      return;
    }
    const batch = queue.length > maxBatch ? queue.splice(0, maxBatch) : queue;
    if (batch === queue) queue = [];
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    writing.push(batch);
    writer.write(batch, wantMessages).then(
      ({ storedAt, outcomes }) => {
        settle(batch, storedAt, outcomes);
        finished(batch);
      },
      (err: Error) => {
        // Nothing of the batch is stored, nothing is acknowledged: devices keep the messages and resend.
        opts.log.error('ingest batch failed; messages not acknowledged', { error: err, size: batch.length });
        for (const item of batch) item.done(err);
        finished(batch);
      },
    );
  }

  return {
    /** Queues a device message; `done` is called after the commit (→ PUBACK), or with an error if it failed. */
    submit(deviceId: string, channel: Channel, topic: string, payload: Buffer, done: Done): void {
      if (closed) {
        done(new Error('ingest is closed'));
        return;
      }
      // To the thread the payload goes as a copy of its own bytes: a Buffer is often a view into a larger socket
      // chunk, and structured cloning copies a view's whole underlying memory.
      queue.push({ deviceId, channel, topic, payload: opts.thread ? new Uint8Array(payload) : payload, receivedAt: now(), done });
      if (eagerFlush > 0 && queue.length >= eagerFlush) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },

    /** Totals since start; maxLagMs is the largest arrival-to-commit time since the previous call. */
    stats(): IngestStats {
      const oldest = writing[0]?.[0] ?? queue[0];
      const s = { ...stats, queued: queue.length + writing.reduce((n, b) => n + b.length, 0), oldestQueuedMs: oldest ? now() - oldest.receivedAt : 0 };
      stats.maxLagMs = 0;
      return s;
    },

    /** Stores what is queued, refuses new work, and stops the thread. */
    async close(): Promise<void> {
      closed = true;
      await new Promise<void>((resolve) => {
        idle = resolve;
        flush();
      });
      await writer.close();
    },
  };
}
