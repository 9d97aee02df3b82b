// The replay store in memory, for simulated devices; same contract as SQLite (but forgets on restart).
import { DEFAULT_MAX_NONCES, type ReplayOptions, type ReplayStore } from './types.js';

export function createMemoryReplayStore(opts: ReplayOptions = {}): ReplayStore {
  const max = opts.maxNonces ?? DEFAULT_MAX_NONCES;
  // Map iteration order is insertion order: the first entries are the oldest.
  const nonces = new Map<string, number>();
  const counters = new Map<string, number>();
  return {
    admit(e) {
      if (nonces.has(e.nonce)) return 'nonce-seen';
      if (e.counter <= (counters.get(e.kid) ?? 0)) return 'counter-stale';
      nonces.set(e.nonce, e.exp);
      counters.set(e.kid, e.counter);
      for (const k of nonces.keys()) {
        if (nonces.size <= max) break;
        nonces.delete(k);
      }
      return 'ok';
    },
    lastCounter: (kid) => counters.get(kid) ?? 0,
    prune(before) {
      let n = 0;
      for (const [k, exp] of nonces) {
        if (exp < before) {
          nonces.delete(k);
          n++;
        }
      }
      return n;
    },
    stats: () => ({ nonces: nonces.size, keys: counters.size }),
    close() {},
  };
}
