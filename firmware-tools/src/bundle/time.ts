// Clock helpers: every check takes an injected `now` and compares whole seconds (NumericDate, RFC 8392 §2).

export type Clock = number | Date | undefined;

/** Whole seconds since the epoch for an injected time (milliseconds or a Date), or for the real clock. */
export function toSeconds(now: Clock): number {
  const ms = now === undefined ? Date.now() : typeof now === 'number' ? now : now.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('now must be a finite time');
  return Math.floor(ms / 1000);
}

export function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
