// A token bucket that may go into debt: callers learn how long to wait instead of being refused outright.
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  private refill(now: number): void {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.ratePerSecond);
      this.at = now;
    }
  }

  /** Takes `amount` tokens (going into debt if needed); returns ms until the debt is paid (0 = no wait). */
  take(amount: number, now: number): number {
    this.refill(now);
    this.tokens -= amount;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
  }

  /** Takes `amount` only if available; returns whether it did (no debt). */
  tryTake(amount: number, now: number): boolean {
    this.refill(now);
    if (this.tokens < amount) return false;
    this.tokens -= amount;
    return true;
  }

  /** Tokens available now (negative while in debt). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** True when the bucket is full again (its entry can be forgotten). */
  idle(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }
}
