// Ingest's writer onto the fleet store (a cluster node on PostgreSQL): the batches that arrive while one commits, or
// within LINGER_MS of the first, are written together in the next transaction (group commit), after the sealing
// keys of their devices are read; each batch resolves only after its commit, so its PUBACKs follow the commit.
import type { BatchOutcome, FleetStore } from '../store/types.js';
import { DUPLICATE, type MessageResult, REJECTED } from './ingest-result.js';
import { createKeyOpener, type SealingInit } from './ingest-open.js';
import { judgeBatches, sliceStored, type Stored, storedOf, type WireBatch } from './ingest-thread.js';
import { DEFAULT_PRUNE_SCHEDULE, type Retention, schedulePruning } from './ingest-retention.js';
import type { Writer, WriterHooks } from './ingest-writer.js';

/** Most messages in one transaction: a larger backlog is written in several. */
const MAX_MESSAGES = 2000;
/**
 * How long a transaction's first batch waits for others when few are queued (group commit's linger, as Kafka's
 * linger.ms). A PostgreSQL transaction's fixed cost, its two round trips and its commit's WAL flush, is most of what
 * a small one costs. Without a linger, 1,000 samples/s over 3 nodes went in 4.6 samples a transaction, and
 * PostgreSQL took a third of a core (bench/cluster-scale, 10,000 devices). A batch waits only while the
 * transaction before it is faster than this: under load, batches already queue for longer.
 */
export const LINGER_MS = 10;

/**
 * Transactions under way at once. One: the next gathers everything that arrived meanwhile. Measured with 3 (bench/
 * cluster-store-throughput.ts): ~35% fewer messages/s, concurrent batches waiting on the same devices' row locks.
 */
const CONCURRENT = 1;

/** Why an item the store refused, although it was judged valid, is refused (a code of broker/src/errors.ts). */
const REFUSAL: Record<Exclude<Extract<BatchOutcome, { outcome: 'refused' }>['reason'], 'rejected'>, string> = {
  'unknown-device': 'FLEET_STORE_CONSTRAINT',
  unstorable: 'FLEET_STORE_VALUE',
};

interface Queued {
  readonly batch: WireBatch;
  /** When it was queued (performance.now()). */
  readonly at: number;
  readonly wantMessages: boolean;
  readonly resolve: (s: Stored) => void;
  readonly reject: (e: Error) => void;
}

const keyOf = (deviceId: string, kid: Uint8Array) => `${deviceId}/${Buffer.from(kid).toString('hex')}`;

export function storeWriter(deps: {
  readonly store: Pick<FleetStore, 'ingest' | 'registry'>;
  readonly now: () => number;
  readonly sealing?: SealingInit | undefined;
  /** What retention deletes, in small transactions of the store's own (on a cluster one node at a time). */
  readonly retention?: Retention | undefined;
  readonly hooks: WriterHooks;
  /** Default LINGER_MS; 0 starts each transaction as soon as the one before it ends. */
  readonly lingerMs?: number;
}): Writer {
  const { store, now, retention } = deps;
  const lingerMs = deps.lingerMs ?? LINGER_MS;
  const pruning =
    retention &&
    (retention.telemetryDays !== null || retention.reportsPerDevice !== null) &&
    schedulePruning(() => store.ingest.prune(retention, now()), {
      ...DEFAULT_PRUNE_SCHEDULE,
      onPruned: deps.hooks.onPruned,
      onFailed: (err) => deps.hooks.onBackgroundFailed('retention', err as Error),
    });
  /** The active keys of the devices in the batch being judged: read from the store before each batch is opened. */
  let keys = new Map<string, Uint8Array>();
  /**
   * Keys devices switched to, written to the store (device_keys.used_at) with the next transaction's batches: every
   * node seals commands to the key the device uses (fleet/seal-outgoing.ts). Kept for the next one if that fails.
   */
  let switched: { deviceId: string; kid: Uint8Array; at: number }[] = [];
  const opener =
    deps.sealing &&
    createKeyOpener(
      {
        find: (id, kid) => keys.get(keyOf(id, kid)),
        markUsed: (deviceId, kid, at) => void switched.push({ deviceId, kid, at }),
      },
      deps.sealing,
      now,
    );
  const queue: Queued[] = [];
  /** Messages in `queue`. */
  let queued = 0;
  let inFlight = 0;
  /** Set while the queue's first batch lingers; pump() runs when it fires. */
  let lingering: NodeJS.Timeout | undefined;
  let closing = false;
  /** Settles each transaction's batches after those taken before it. */
  let settled: Promise<void> = Promise.resolve();

  async function writeSome(taken: readonly Queued[]): Promise<Stored> {
    const batches = taken.map((q) => q.batch);
    if (opener) {
      const rows = await store.registry.sealKeys([...new Set(batches.flatMap((b) => b.deviceIds))]);
      // Judged right after, with no await between: a concurrent transaction's keys cannot replace these meanwhile.
      keys = new Map(rows.map((r) => [keyOf(r.deviceId, r.kid), r.publicKey]));
    }
    const judged = judgeBatches(batches, opener);
    const outcomes = await store.ingest.writeBatch(judged, now());
    if (switched.length > 0) {
      const marking = switched;
      switched = [];
      // After the batch's commit, so a key is marked only once a message sealed with it is stored.
      await store.registry.markSealKeysUsed(marking).catch(() => {
        switched = [...marking, ...switched];
      });
    }
    const refusals = new Map<number, { code: string; message: string }>();
    const inserted = Int32Array.from(outcomes, (o, i): MessageResult => {
      if (o.outcome === 'stored') return o.samples;
      if (o.outcome === 'duplicate') return DUPLICATE;
      if (o.reason !== 'rejected')
        refusals.set(i, { code: REFUSAL[o.reason], message: `the store refused the message (${o.reason})` });
      return REJECTED;
    });
    const wantMessages = taken.some((q) => q.wantMessages);
    return storedOf(judged, inserted, wantMessages, now(), refusals);
  }

  function settle(taken: readonly Queued[], stored: Stored): void {
    let at = 0;
    for (const q of taken) {
      q.resolve(sliceStored(stored, at, q.batch.deviceIds.length));
      at += q.batch.deviceIds.length;
    }
  }

  /** The next transaction's batches: what waits, up to MAX_MESSAGES (at least one batch). */
  function take(): Queued[] {
    let n = 0;
    let count = 0;
    while (n < queue.length && (n === 0 || count + queue[n]!.batch.deviceIds.length <= MAX_MESSAGES))
      count += queue[n++]!.batch.deviceIds.length;
    queued -= count;
    return queue.splice(0, n);
  }

  /**
   * Starts transactions while fewer than CONCURRENT run. They may commit in any order but are settled in the order
   * they were taken: a device's PUBACKs go in the order of its PUBLISHes (MQTT-4.6.0-2).
   */
  function pump(): void {
    while (inFlight < CONCURRENT && queue.length > 0) {
      const wait = lingerMs - (performance.now() - queue[0]!.at);
      if (wait > 0 && queued < MAX_MESSAGES && !closing) {
        lingering ??= setTimeout(() => {
          lingering = undefined;
          pump();
        }, wait);
        return;
      }
      const taken = take();
      inFlight++;
      const written = writeSome(taken);
      const next = () => {
        inFlight--;
        pump();
      };
      written.then(next, next);
      settled = settled.then(() =>
        written.then(
          (stored) => settle(taken, stored),
          // Nothing of these batches was kept: none of their messages is acknowledged, the devices send them again.
          (err: Error) => {
            for (const q of taken) q.reject(err);
          },
        ),
      );
    }
  }

  return {
    write(batch, wantMessages) {
      return new Promise<Stored>((resolve, reject) => {
        queue.push({ batch, wantMessages, at: performance.now(), resolve, reject });
        queued += batch.deviceIds.length;
        pump();
      });
    },
    async close() {
      // What lingers is written now.
      closing = true;
      clearTimeout(lingering);
      lingering = undefined;
      pump();
      if (pruning) await pruning.stop();
      while (inFlight > 0 || queue.length > 0) await settled;
    },
  };
}
