// Exponential backoff with jitter, so a fleet that lost its server does not come back in lockstep.
export interface Backoff {
  /** Delay before the next attempt, in ms; grows with each failure. */
  next(): number;
  reset(): void;
}

/** "Equal jitter": half the exponential delay fixed, half random (AWS Architecture Blog, 2015). */
export function createBackoff(minMs: number, maxMs: number, random: () => number = Math.random): Backoff {
  let attempt = 0;
  return {
    next() {
      const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
      attempt++;
      return Math.round(ceiling / 2 + random() * (ceiling / 2));
    },
    reset() {
      attempt = 0;
    },
  };
}
