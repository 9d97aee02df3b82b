// Where the update record lives: persisted before each state's side effects, so a restart resumes (or abandons)
// exactly the update that was under way. A kv implementation over agent.db (the outbox's getState/setState,
// synchronous FULL: durable when it returns) and an in-memory one for the simulator.
import type { UpdateState } from '../../../shared/src/index.js';

export const UPDATE_RECORD_VERSION = 1;

export interface SlotRef {
  readonly slot: string;
  readonly version: string;
  readonly sequence: number;
}

export interface UpdateRecord {
  /** Record format version. */
  readonly v: typeof UPDATE_RECORD_VERSION;
  readonly state: UpdateState;
  readonly rolloutId: number;
  readonly releaseId: string;
  readonly version?: string;
  readonly url?: string;
  readonly token?: string;
  readonly tokenExpires?: number;
  readonly size?: number;
  /** Bytes downloaded (or verified) so far. */
  readonly done: number;
  readonly reasonCode?: string;
  readonly reason?: string;
  /** The image running when the update started (what a rollback returns to). */
  readonly from: SlotRef;
  /** The new image, once verified. */
  readonly target?: SlotRef & { readonly sha256: string };
  /** When the boot flag was switched (the health check deadline counts from here). */
  readonly switchedAt?: number;
  /** Agent starts during this update: the crash-loop counter. */
  readonly boots: number;
  /** With state Idle: how the last update ended (an offer of the same release is answered with it). */
  readonly outcome?: 'Committed' | 'RolledBack' | 'Failed';
  /** Trust documents that came with the offer (base64), applied when verifying. */
  readonly trust?: readonly string[];
}

export interface UpdateStore {
  /** The current (or last finished) update, if any. */
  load(): UpdateRecord | undefined;
  /** Durable when it returns. */
  save(record: UpdateRecord): void;
  /** Trust documents accepted after the configured one, oldest first. */
  loadTrust(): Uint8Array[];
  saveTrust(documents: readonly Uint8Array[]): void;
}

interface Kv {
  getState(key: string): string | undefined;
  setState(key: string, value: string): void;
}

const RECORD_KEY = 'update';
const TRUST_KEY = 'update:trust';

/** Parses a stored record; anything that does not look like one (an older or damaged value) reads as none. */
export function parseUpdateRecord(text: string | undefined): UpdateRecord | undefined {
  if (!text) return undefined;
  try {
    const r = JSON.parse(text) as UpdateRecord;
    if (r?.v !== UPDATE_RECORD_VERSION || typeof r.state !== 'string' || typeof r.releaseId !== 'string')
      return undefined;
    return r;
  } catch {
    return undefined;
  }
}

/** The store in agent.db's kv table (the outbox's state keys). */
export function createKvUpdateStore(kv: Kv): UpdateStore {
  return {
    load: () => parseUpdateRecord(kv.getState(RECORD_KEY)),
    save: (r) => kv.setState(RECORD_KEY, JSON.stringify(r)),
    loadTrust() {
      try {
        const list = JSON.parse(kv.getState(TRUST_KEY) ?? '[]') as string[];
        return Array.isArray(list) ? list.map((b) => new Uint8Array(Buffer.from(b, 'base64'))) : [];
      } catch {
        return [];
      }
    },
    saveTrust: (docs) => kv.setState(TRUST_KEY, JSON.stringify(docs.map((d) => Buffer.from(d).toString('base64')))),
  };
}

/** The simulator's store: nothing survives the process. */
export function createMemoryUpdateStore(): UpdateStore {
  let record: UpdateRecord | undefined;
  let trust: Uint8Array[] = [];
  return {
    load: () => record,
    save: (r) => void (record = r),
    loadTrust: () => [...trust],
    saveTrust: (docs) => void (trust = [...docs]),
  };
}
