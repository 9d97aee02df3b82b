// Wraps a virtual device's outbox to observe what the real agent does with its samples: when each was made,
// when its PUBACK came back (the server acknowledges only after the row is committed), and which were resent.
import type { OutboxStore } from '../../agent/src/index.js';

/**
 * Pool-wide sink: one per worker, so a device costs a small Map and a few numbers, not a histogram, and the pool's
 * totals are kept as samples come and go instead of summed over every device each report.
 */
export interface SampleSink {
  /** A sample was made before the run's cutoff: it counts, and is waited for. */
  made(): void;
  /** A sample was acknowledged `ms` after it was made; `measured` when it lies in the measured window. */
  acked(ms: number, measured: boolean): void;
  /** A sample made() counted was acknowledged (after acked()). */
  settled(): void;
  resent(samples: number): void;
}

export interface SampleTally {
  readonly stream: string;
  /** Samples made so far (the last sequence number). */
  readonly made: number;
  /** Samples with a higher sequence number are measured (latency); set when the fleet is up. */
  readonly windowStart: number;
  /** Last sample of the run; later samples are neither counted nor waited for. Null until the run ends. */
  readonly cutoff: number | null;
  /** Samples up to the cutoff (or all, before it) not acknowledged yet. */
  pending(): number;
  startWindow(): void;
  endWindow(): void;
}

export function trackOutbox(
  inner: OutboxStore,
  sink: SampleSink,
  now: () => number = Date.now,
): { outbox: OutboxStore; tally: SampleTally } {
  // Sequence → time made, for samples not yet acknowledged. Insertion order is sequence order.
  const waiting = new Map<number, number>();
  let windowStart = Number.POSITIVE_INFINITY;
  let cutoff: number | null = null;
  let handedOut = 0;

  const outbox: OutboxStore = {
    get stream() {
      return inner.stream;
    },
    addSample(ts, metrics) {
      const seq = inner.addSample(ts, metrics);
      waiting.set(seq, ts);
      if (cutoff === null) sink.made();
      return seq;
    },
    recordDropped: (reason) => inner.recordDropped(reason),
    addMessage: (channel, payload) => inner.addMessage(channel, payload),
    samplesAfter(after, max) {
      const samples = inner.samplesAfter(after, max);
      // The sender asks only for what it is about to publish: a sequence handed out before is a resend.
      let again = 0;
      for (const s of samples) {
        if (s.seq <= handedOut) again++;
        else handedOut = s.seq;
      }
      if (again > 0) sink.resent(again);
      return samples;
    },
    messagesAfter: (after, max) => inner.messagesAfter(after, max),
    ackSamples(first, last) {
      inner.ackSamples(first, last);
      const t = now();
      for (let seq = first; seq <= last; seq++) {
        const made = waiting.get(seq);
        if (made === undefined) continue;
        waiting.delete(seq);
        const counted = cutoff === null || seq <= cutoff;
        sink.acked(t - made, seq > windowStart && counted);
        if (counted) sink.settled();
      }
    },
    ackMessage: (id) => inner.ackMessage(id),
    getState: (key) => inner.getState(key),
    setState: (key, value) => inner.setState(key, value),
    stats: () => inner.stats(),
    close: () => inner.close(),
  };

  const tally: SampleTally = {
    stream: inner.stream,
    get made() {
      return inner.stats().lastSequence;
    },
    get windowStart() {
      return Number.isFinite(windowStart) ? windowStart : tally.made;
    },
    get cutoff() {
      return cutoff;
    },
    pending() {
      if (cutoff === null) return waiting.size;
      let n = 0;
      for (const seq of waiting.keys()) {
        if (seq > cutoff) break;
        n++;
      }
      return n;
    },
    startWindow() {
      windowStart = inner.stats().lastSequence;
    },
    endWindow() {
      cutoff = inner.stats().lastSequence;
      if (!Number.isFinite(windowStart)) windowStart = cutoff;
    },
  };
  return { outbox, tally };
}
