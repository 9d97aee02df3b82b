// A counting semaphore: bounds how many probe connections are open at once across the whole scan.

export interface Limiter {
  /** Waits for a free slot; the returned function frees it (calling it twice is harmless). */
  acquire(): Promise<() => void>;
  readonly active: number;
}

export function createLimiter(max: number): Limiter {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return {
    get active() {
      return active;
    },
    async acquire() {
      if (active < max) active++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      let done = false;
      return () => {
        if (done) return;
        done = true;
        release();
      };
    },
  };
}

/** Runs `fn` over `items` with at most `max` running at once; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  max: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(max, items.length) }, worker));
  return out;
}
