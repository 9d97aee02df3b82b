// Ingest's writer onto the fleet store (a cluster node on PostgreSQL): the batches that arrive while one commits are
// written together in the next transaction (group commit, as the ingest thread does on SQLite), after the sealing
// keys of their devices are read; each batch resolves only after its commit, so its PUBACKs follow the commit.
import type { BatchOutcome, FleetStore } from '../store/types.js';
import { DUPLICATE, type MessageResult, REJECTED } from './ingest-result.js';
import { createKeyOpener, type SealingInit } from './ingest-open.js';
import { judgeBatches, sliceStored, type Stored, storedOf, type WireBatch } from './ingest-thread.js';
import type { Writer } from './ingest-writer.js';

/** Most messages in one transaction: a larger backlog is written in several. */
const MAX_MESSAGES = 2000;

/** Why an item the store refused, although it was judged valid, is refused (a code of broker/src/errors.ts). */
const REFUSAL: Record<Exclude<Extract<BatchOutcome, { outcome: 'refused' }>['reason'], 'rejected'>, string> = {
  'unknown-device': 'FLEET_STORE_CONSTRAINT',
  unstorable: 'FLEET_STORE_VALUE',
  unsupported: 'FLEET_STORE_UNSUPPORTED',
};

interface Queued {
  readonly batch: WireBatch;
  readonly wantMessages: boolean;
  readonly resolve: (s: Stored) => void;
  readonly reject: (e: Error) => void;
}

const keyOf = (deviceId: string, kid: Uint8Array) => `${deviceId}/${Buffer.from(kid).toString('hex')}`;

export function storeWriter(deps: {
  readonly store: Pick<FleetStore, 'ingest' | 'registry'>;
  readonly now: () => number;
  readonly sealing?: SealingInit | undefined;
}): Writer {
  const { store, now } = deps;
  /** The active keys of the devices in the batch being judged: read from the store before each batch is opened. */
  let keys = new Map<string, Uint8Array>();
  // The store has no record of the key a device last sealed with (device_keys.used_at is the folder's): commands
  // are sealed with the keys of the node's folder (fleet/seal-outgoing.ts).
  const opener =
    deps.sealing &&
    createKeyOpener({ find: (id, kid) => keys.get(keyOf(id, kid)), markUsed: () => {} }, deps.sealing, now);
  const queue: Queued[] = [];
  let running: Promise<void> | undefined;

  async function writeSome(taken: Queued[]): Promise<void> {
    const batches = taken.map((q) => q.batch);
    if (opener) {
      const rows = await store.registry.sealKeys([...new Set(batches.flatMap((b) => b.deviceIds))]);
      keys = new Map(rows.map((r) => [keyOf(r.deviceId, r.kid), r.publicKey]));
    }
    const judged = judgeBatches(batches, opener);
    const outcomes = await store.ingest.writeBatch(judged, now());
    const refusals = new Map<number, { code: string; message: string }>();
    const inserted = Int32Array.from(outcomes, (o, i): MessageResult => {
      if (o.outcome === 'stored') return o.samples;
      if (o.outcome === 'duplicate') return DUPLICATE;
      if (o.reason !== 'rejected')
        refusals.set(i, { code: REFUSAL[o.reason], message: `the store refused the message (${o.reason})` });
      return REJECTED;
    });
    const stored = storedOf(
      judged,
      inserted,
      taken.some((q) => q.wantMessages),
      now(),
      refusals,
    );
    let at = 0;
    for (const q of taken) {
      q.resolve(sliceStored(stored, at, q.batch.deviceIds.length));
      at += q.batch.deviceIds.length;
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      let n = 0;
      let count = 0;
      while (n < queue.length && (n === 0 || count + queue[n]!.batch.deviceIds.length <= MAX_MESSAGES))
        count += queue[n++]!.batch.deviceIds.length;
      const taken = queue.splice(0, n);
      try {
        await writeSome(taken);
      } catch (err) {
        // Nothing of these batches was kept: none of their messages is acknowledged, the devices send them again.
        for (const q of taken) q.reject(err as Error);
      }
    }
    running = undefined;
  }

  return {
    write(batch, wantMessages) {
      return new Promise<Stored>((resolve, reject) => {
        queue.push({ batch, wantMessages, resolve, reject });
        running ??= drain();
      });
    },
    async close() {
      await running;
    },
  };
}
