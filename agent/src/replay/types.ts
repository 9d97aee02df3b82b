// The replay-protection contract for signed commands: nonces seen, and the highest counter per operator key.
export interface ReplayEntry {
  /** Operator key id, 16 hex characters. */
  readonly kid: string;
  /** The command's 16-byte nonce, as hex. */
  readonly nonce: string;
  readonly counter: number;
  /** The command's expiry (ms, signer's clock); the nonce is remembered at least until then. */
  readonly exp: number;
  readonly cmdId: string;
}

/** ok: recorded · nonce-seen: this nonce was used before · counter-stale: not above the key's last counter. */
export type Admission = 'ok' | 'nonce-seen' | 'counter-stale';

export interface ReplayStats {
  readonly nonces: number;
  readonly keys: number;
}

/** Implemented on SQLite for gateways and in memory for simulated devices; one contract suite checks both. */
export interface ReplayStore {
  /** Refuses a seen nonce or a counter not above the key's last; otherwise records both at once. */
  admit(entry: ReplayEntry): Admission;
  /** Highest counter accepted from this key (0 when none). */
  lastCounter(kid: string): number;
  /**
   * Forgets nonces that expired before `before` (a command that old is refused as expired, and the counter
   * refuses it even when the clock is wrong). Returns how many were forgotten.
   */
  prune(before: number): number;
  stats(): ReplayStats;
  close(): void;
}

export interface ReplayOptions {
  /** Most nonces remembered; past it the oldest are forgotten first (the counters still hold). */
  readonly maxNonces?: number;
}

export const DEFAULT_MAX_NONCES = 10_000;
