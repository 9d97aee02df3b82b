// Ingest: validates device messages and stores them in batched transactions. A message is acknowledged
// (PUBACK) only after its transaction commits, so an acknowledged sample is a stored sample.
//
// The fleet server ingests on a worker thread with its own connection to the database (`thread`): decoding,
// validation and SQLite — and the fsync of every commit — then never stall the MQTT event loop, and the next
// batches that arrive while one commits are stored together in the next transaction. The writers that hand batches
// to the thread, or store them here, are in ingest-writer.ts. Without `thread` the same work runs on this thread
// through `db` (tools and tests).
import { CHANNELS, type Channel, type DecodedMessage, type Logger } from '../../../shared/src/index.js';
import type { CheckpointPolicy } from '../db/checkpoint.js';
import { stopsTheServer } from '../db/failure.js';
import type { Db } from '../db/open.js';
import type { FleetError } from '../errors.js';
import { DUPLICATE, REJECTED } from './ingest-result.js';
import type { SealingInit } from './ingest-open.js';
import type { Retention } from './ingest-retention.js';
import type { BackgroundTask, Stored, ThreadInit, WireBatch } from './ingest-thread.js';
import type { StorageKey } from '../../../shared/src/index.js';
import { inlineWriter, threadWriter } from './ingest-writer.js';
import { storeWriter } from './ingest-store-writer.js';
import type { FleetStore } from '../store/types.js';

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
  /** Telemetry samples and exposure reports retention deleted. */
  prunedSamples: number;
  prunedReports: number;
}

export type StoredEvent = DecodedMessage & {
  readonly deviceId: string;
  readonly receivedAt: number;
  readonly storedAt: number;
  /** Samples newly stored (0 for a duplicate). */
  readonly inserted: number;
  /** Already stored (a resend or a replay): it must not change anything again. */
  readonly duplicate: boolean;
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
  /** Called for every message that stored nothing new: its samples or message id were already stored. */
  readonly onDuplicate?: (deviceId: string, topic: string) => void;
  /**
   * Called once when the database fails so that it cannot be trusted any more (FLEET_DB_CORRUPT, FLEET_DB_IO):
   * from then on nothing is acknowledged, and every message is refused at once. The fleet server stops.
   */
  readonly onFatal?: (err: FleetError) => void;
  /** What retention deletes (fleet serve --config, `retention`), in small transactions beside ingest; none without. */
  readonly retention?: Retention;
  /** Open sealed device messages with the backend's key (in the thread when there is one). */
  readonly sealing?: SealingInit;
  /**
   * Store in this fleet store instead of `db` (a cluster node on PostgreSQL: ingest-store-writer.ts); pass no
   * `thread` with it. Retention does not run on it (yet).
   */
  readonly store?: Pick<FleetStore, 'ingest' | 'registry'>;
  /** Store on a worker thread with its own connection to this database file (the fleet server). */
  readonly thread?: {
    readonly file: string;
    readonly synchronous?: 'FULL' | 'NORMAL';
    readonly checkpoints?: CheckpointPolicy;
    /** The folder's storage key when it is encrypted at rest: the thread's connection is keyed with it. */
    readonly storageKey?: StorageKey | undefined;
  };
}

interface Pending {
  readonly deviceId: string;
  readonly topic: string;
  readonly receivedAt: number;
  readonly size: number;
  readonly done: Done;
}

export type Ingest = ReturnType<typeof createIngest>;

const EAGER_FLUSH = 64;
const CHANNEL_INDEX: ReadonlyMap<Channel, number> = new Map(CHANNELS.map((c, i) => [c, i]));

/** The batch being filled: each payload is copied once, into the buffer that then moves to the thread. */
class Filling {
  readonly pending: Pending[] = [];
  readonly channels: number[] = [];
  readonly ends: number[] = [];
  bytes: Uint8Array;
  used = 0;

  /**
   * `capacity`: the bytes the previous batch needed, so a trickle of messages does not allocate a large buffer each.
   */
  constructor(capacity: number) {
    this.bytes = new Uint8Array(Math.max(1024, capacity));
  }

  add(p: Pending, channel: Channel, payload: Uint8Array): void {
    if (this.used + payload.length > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (this.used + payload.length > size) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    this.bytes.set(payload, this.used);
    this.used += payload.length;
    this.ends.push(this.used);
    this.channels.push(CHANNEL_INDEX.get(channel)!);
    this.pending.push(p);
  }

  wire(): WireBatch {
    return {
      deviceIds: this.pending.map((p) => p.deviceId),
      channels: Uint8Array.from(this.channels),
      receivedAt: Float64Array.from(this.pending, (p) => p.receivedAt),
      ends: Uint32Array.from(this.ends),
      bytes: this.bytes.subarray(0, this.used),
    };
  }
}

export function createIngest(db: Db, opts: IngestOptions) {
  const now = opts.now ?? Date.now;
  const maxBatch = opts.maxBatch ?? 1000;
  // With a thread, a batch goes as soon as this many messages wait, not only at the end of the event-loop turn:
  // the thread commits while this thread still reads sockets (measured: ~10% more messages/s in the benchmark).
  const flushAt = opts.thread || opts.store ? Math.min(EAGER_FLUSH, maxBatch) : maxBatch;
  const stats: IngestStats = {
    queued: 0,
    oldestQueuedMs: 0,
    messages: 0,
    samples: 0,
    duplicates: 0,
    rejected: 0,
    batches: 0,
    maxLagMs: 0,
    prunedSamples: 0,
    prunedReports: 0,
  };
  /** 'failed': the database failed (`failure`); nothing more is stored or acknowledged. */
  let state: 'open' | 'failed' | 'closed' = 'open';
  let failure: FleetError | undefined;
  const fail = (err: FleetError) => {
    if (failure) return;
    failure = err;
    if (state === 'open') state = 'failed';
    opts.onFatal?.(err);
  };
  const what: Record<BackgroundTask, string> = { checkpoint: 'WAL checkpoint', retention: 'retention' };
  const hooks = {
    onBackgroundFailed: (task: BackgroundTask, err: Error) => {
      const fields = { code: (err as { code?: string }).code ?? 'INTERNAL', error: err };
      if (!stopsTheServer(err)) return opts.log.warn(`${what[task]} failed; the next is tried later`, fields);
      opts.log.error(`${what[task]} failed`, fields);
      fail(err);
    },
    onPruned: (p: { samples: number; reports: number }) => {
      stats.prunedSamples += p.samples;
      stats.prunedReports += p.reports;
    },
  };
  // With a thread, the thread's connection checkpoints the WAL; a commit on this connection never does, so a
  // rare write here (a device connecting, an audit event) cannot stall the event loop copying thousands of pages.
  if (opts.thread) db.pragma('wal_autocheckpoint = 0');
  const init: ThreadInit | undefined = opts.thread && {
    file: opts.thread.file,
    synchronous: opts.thread.synchronous ?? 'FULL',
    ...(opts.thread.checkpoints ? { checkpoints: opts.thread.checkpoints } : {}),
    ...(opts.thread.storageKey ? { storageKey: opts.thread.storageKey } : {}),
    ...(opts.retention ? { retention: opts.retention } : {}),
    ...(opts.sealing ? { sealing: opts.sealing } : {}),
  };
  const writer = opts.store
    ? storeWriter({ store: opts.store, now, sealing: opts.sealing, retention: opts.retention, hooks })
    : init
      ? threadWriter({ init, db, now, log: opts.log, ...hooks })
      : inlineWriter(db, now, opts.retention, hooks, opts.sealing);
  const wantMessages = opts.onStored !== undefined;
  let queue = new Filling(4096);
  /** Batches handed to the writer and not settled yet, oldest first. */
  const writing: Pending[][] = [];
  let scheduled = false;
  let idle: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  function settle(batch: readonly Pending[], stored: Stored): void {
    stats.batches++;
    const rejects = stored.rejects.length > 0 ? new Map(stored.rejects.map((r) => [r.index, r])) : undefined;
    batch.forEach((item, i) => {
      stats.maxLagMs = Math.max(stats.maxLagMs, stored.storedAt - item.receivedAt);
      const inserted = stored.inserted[i]!;
      if (inserted === REJECTED) {
        // Acknowledged but never stored, so one poison message cannot make a device resend forever; it is
        // counted, logged and kept in ingest_rejects.
        const r = rejects?.get(i) ?? { code: 'INTERNAL', message: 'rejected' };
        stats.rejected++;
        opts.log.warn('rejected device message', {
          deviceId: item.deviceId,
          topic: item.topic,
          code: r.code,
          reason: r.message.slice(0, 300),
          size: item.size,
        });
        opts.onRejected?.(item.deviceId, r.code);
      } else {
        if (inserted === DUPLICATE) {
          // A resend after a lost PUBACK, or a replay of captured (sealed) bytes: the sequence number or message
          // id is already stored, so nothing is. Counted and logged (never the contents), like a refusal.
          stats.duplicates++;
          opts.log.info('duplicate device message not stored (a resend or a replay)', {
            deviceId: item.deviceId,
            topic: item.topic,
            size: item.size,
          });
          opts.onDuplicate?.(item.deviceId, item.topic);
        } else {
          stats.messages++;
          stats.samples += inserted;
          if (inserted > 0) opts.onSamples?.(item.deviceId, inserted);
        }
        const decoded = stored.decoded?.[i];
        if (decoded)
          opts.onStored?.({
            ...decoded,
            deviceId: item.deviceId,
            receivedAt: item.receivedAt,
            storedAt: stored.storedAt,
            inserted: Math.max(0, inserted),
            duplicate: inserted === DUPLICATE,
          });
      }
      item.done();
    });
  }

  function finished(batch: Pending[]): void {
    writing.splice(writing.indexOf(batch), 1);
    if (queue.pending.length > 0) flush();
    else if (writing.length === 0) idle?.();
  }

  /** Hands what is queued to the writer. The thread stores batches that meet there in one transaction. */
  function flush(): void {
    scheduled = false;
    if (queue.pending.length === 0) {
      if (writing.length === 0) idle?.();
      return;
    }
    const filled = queue;
    queue = new Filling(filled.used);
    const batch = filled.pending;
    if (failure) {
      for (const item of batch) item.done(failure);
      if (writing.length === 0) idle?.();
      return;
    }
    writing.push(batch);
    writer.write(filled.wire(), wantMessages).then(
      (stored) => {
        settle(batch, stored);
        finished(batch);
      },
      (err: Error) => {
        // Nothing of the batch is stored, nothing is acknowledged: devices keep the messages and resend.
        if (stopsTheServer(err)) fail(err);
        opts.log.error('ingest batch failed; messages not acknowledged', {
          code: (err as { code?: string }).code ?? 'INTERNAL',
          error: err,
          size: batch.length,
        });
        for (const item of batch) item.done(err);
        finished(batch);
      },
    );
  }

  return {
    /** Queues a device message; `done` is called after the commit (→ PUBACK), or with an error if it failed. */
    submit(deviceId: string, channel: Channel, topic: string, payload: Uint8Array, done: Done): void {
      if (state !== 'open') {
        done(failure ?? new Error('ingest is closed'));
        return;
      }
      queue.add({ deviceId, topic, receivedAt: now(), size: payload.length, done }, channel, payload);
      if (queue.pending.length >= flushAt) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },

    /** Totals since start; maxLagMs is the largest arrival-to-commit time since the previous call. */
    stats(): IngestStats {
      const oldest = writing[0]?.[0] ?? queue.pending[0];
      const s = {
        ...stats,
        queued: queue.pending.length + writing.reduce((n, b) => n + b.length, 0),
        oldestQueuedMs: oldest ? now() - oldest.receivedAt : 0,
      };
      stats.maxLagMs = 0;
      return s;
    },

    /** Stores what is queued, refuses new work, and stops the thread. Calling it again waits for the same. */
    close(): Promise<void> {
      closing ??= (async () => {
        if (state === 'open') state = 'closed';
        await new Promise<void>((resolve) => {
          idle = resolve;
          flush();
        });
        await writer.close();
      })();
      return closing;
    },
  };
}
