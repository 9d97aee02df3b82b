// Latency histograms and counters that add up across devices, workers and seconds: log-linear buckets
// (1 ms steps below 64 ms, then 32 per doubling, about 2% wide), so memory stays fixed whatever the load.
export type SparseHistogram = readonly (readonly [bucket: number, count: number])[];

const LINEAR = 64;
const PER_DOUBLING = 32;
/** Covers up to about 24 days: anything longer is clamped into the last bucket. */
const BUCKETS = LINEAR + PER_DOUBLING * 35;

function bucketOf(ms: number): number {
  const v = Math.max(0, Math.round(ms));
  if (v < LINEAR) return v;
  return Math.min(BUCKETS - 1, LINEAR + Math.floor(Math.log2(v / LINEAR) * PER_DOUBLING));
}

/** The largest value that falls in a bucket: percentiles read high rather than low. */
function upperBound(bucket: number): number {
  if (bucket < LINEAR) return bucket;
  return Math.ceil(LINEAR * 2 ** ((bucket - LINEAR + 1) / PER_DOUBLING)) - 1;
}

export interface Summary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface Histogram {
  record(ms: number): void;
  add(other: Histogram | SparseHistogram): void;
  percentile(p: number): number;
  summary(): Summary;
  readonly count: number;
  readonly max: number;
  /** Non-empty buckets, for sending over IPC. */
  sparse(): SparseHistogram;
  reset(): void;
}

export function createHistogram(from?: SparseHistogram): Histogram {
  let counts = new Float64Array(BUCKETS);
  let count = 0;
  let max = 0;
  const h: Histogram = {
    record(ms) {
      counts[bucketOf(ms)]!++;
      count++;
      if (ms > max) max = ms;
    },
    add(other) {
      const pairs = Array.isArray(other) ? (other as SparseHistogram) : (other as Histogram).sparse();
      for (const [b, n] of pairs) {
        if (b === -1) {
          if (n > max) max = n;
          continue;
        }
        if (!(b >= 0 && b < BUCKETS && n > 0)) continue;
        counts[b]! += n;
        count += n;
      }
    },
    percentile(p) {
      if (count === 0) return 0;
      const rank = Math.max(1, Math.ceil(p * count));
      let seen = 0;
      for (let b = 0; b < BUCKETS; b++) {
        seen += counts[b]!;
        if (seen >= rank) return Math.min(upperBound(b), max);
      }
      return max;
    },
    summary: () => ({ count, p50: h.percentile(0.5), p99: h.percentile(0.99), max: Math.round(max) }),
    get count() {
      return count;
    },
    get max() {
      return max;
    },
    sparse() {
      const out: [number, number][] = [];
      for (let b = 0; b < BUCKETS; b++) if (counts[b]! > 0) out.push([b, counts[b]!]);
      // The exact maximum travels as its own bucket-free entry so a merged histogram keeps it.
      if (count > 0) out.push([-1, max]);
      return out;
    },
    reset() {
      counts = new Float64Array(BUCKETS);
      count = 0;
      max = 0;
    },
  };
  if (from) h.add(from);
  return h;
}

/** Adds counts by key (errors by kind, acks by reason). */
export function addCounts(
  into: Record<string, number>,
  from: Readonly<Record<string, number>>,
): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}
