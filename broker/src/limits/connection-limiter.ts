// New-connection rate per source address, enforced on the raw TCP socket before any TLS work is spent on it.
import { TokenBucket } from './token-bucket.js';

export type ConnectionLimiter = ReturnType<typeof createConnectionLimiter>;

export function createConnectionLimiter(opts: {
  perMinute: number;
  burst: number;
  maxAddresses?: number;
  now?: () => number;
}) {
  const now = opts.now ?? Date.now;
  const maxAddresses = opts.maxAddresses ?? 100_000;
  const buckets = new Map<string, TokenBucket>();
  let sweptAt = now();

  function sweep(t: number): void {
    sweptAt = t;
    for (const [addr, b] of buckets) if (b.idle(t)) buckets.delete(addr);
  }

  return {
    /** True when this address may open another connection now. */
    allow(address: string): boolean {
      const t = now();
      if (t - sweptAt > 60_000 || buckets.size >= maxAddresses) sweep(t);
      let b = buckets.get(address);
      if (!b) {
        // Under an address-spoofing storm the table stays bounded: unknown addresses share one bucket.
        if (buckets.size >= maxAddresses) address = '*overflow*';
        b = buckets.get(address) ?? new TokenBucket(opts.perMinute / 60, opts.burst, t);
        buckets.set(address, b);
      }
      return b.tryTake(1, t);
    },
    get size() {
      return buckets.size;
    },
  };
}
