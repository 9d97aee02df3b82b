// Adds up the pools' reports: fleet-wide totals, per-second rates and peaks, the live latency of the last few
// seconds (progress line), the measured window's latency, and latency per scenario phase.
import { type LoopDelay, POOL_COUNTS, type PoolCounters, type PoolReport } from './device-pool.js';
import { addCounts, createHistogram, type Histogram, type Summary } from './metrics.js';
import type { Tick } from './scenarios/types.js';

export type Totals = PoolCounters & {
  /** Sum over pools of their peak RSS, and of their peak RSS above the pool's starting RSS. */
  readonly rssBytes: number;
  readonly deviceRssBytes: number;
};

/** Seconds of live latency shown on the progress line. */
const LIVE_SECONDS = 5;

export function createFleetStats(poolCount: number) {
  const latest: (PoolReport | undefined)[] = Array.from({ length: poolCount }, () => undefined);
  const reportedAt: number[] = Array.from({ length: poolCount }, () => 0);
  const peakRss: number[] = Array.from({ length: poolCount }, () => 0);
  const measured = createHistogram();
  const live: Histogram[] = Array.from({ length: LIVE_SECONDS }, () => createHistogram());
  let liveSlot = 0;
  const phases = new Map<string, Histogram>();
  let phase: Histogram | undefined;
  let previous = { connects: 0, acked: 0 };
  let peakConnected = 0;
  let peakConnectRate = 0;
  const tickListeners = new Set<(t: Tick) => void>();

  function totals(): Totals {
    const counts = Object.fromEntries(POOL_COUNTS.map((k) => [k, 0])) as Record<(typeof POOL_COUNTS)[number], number>;
    const t = {
      ...counts,
      errors: {} as Record<string, number>,
      commandAcks: {} as Record<string, number>,
      rssBytes: 0,
      deviceRssBytes: 0,
    };
    latest.forEach((r, i) => {
      if (!r) return;
      for (const k of POOL_COUNTS) t[k] += r[k];
      addCounts(t.errors, r.errors);
      addCounts(t.commandAcks, r.commandAcks);
      t.rssBytes += peakRss[i]!;
      t.deviceRssBytes += Math.max(0, peakRss[i]! - r.baseRssBytes);
    });
    return t;
  }

  return {
    onReport(r: PoolReport): void {
      latest[r.index] = r;
      reportedAt[r.index] = Date.now();
      peakRss[r.index] = Math.max(peakRss[r.index]!, r.rssBytes);
      measured.add(r.measuredLatency);
      live[liveSlot]!.add(r.liveLatency);
      phase?.add(r.liveLatency);
      const connected = totals().connected;
      if (connected > peakConnected) peakConnected = connected;
    },
    totals,
    /** The busiest pool's event-loop delay p99 over its last report period. */
    recentLoopDelay: () => Math.max(0, ...latest.map((r) => r?.recentLoopDelayMs ?? 0)),
    /** True when every pool has reported since `t`. */
    reportedSince: (t: number) => reportedAt.every((at) => at > t),
    /** Closes one second: rates, peaks, and the next live-latency slot. */
    tick(): Tick {
      const t = totals();
      const tick: Tick = {
        at: Date.now(),
        connected: t.connected,
        connectsPerSecond: t.connects - previous.connects,
        ackedPerSecond: t.acked - previous.acked,
      };
      previous = { connects: t.connects, acked: t.acked };
      peakConnectRate = Math.max(peakConnectRate, tick.connectsPerSecond);
      liveSlot = (liveSlot + 1) % LIVE_SECONDS;
      live[liveSlot]!.reset();
      for (const l of tickListeners) l(tick);
      return tick;
    },
    onTick(cb: (t: Tick) => void): () => void {
      tickListeners.add(cb);
      return () => tickListeners.delete(cb);
    },
    liveLatency(): Summary {
      const h = createHistogram();
      for (const l of live) h.add(l);
      return h.summary();
    },
    measured: () => measured.summary(),
    /** The busiest worker's event-loop delay over the measured window (each of p99 and max: the worst pool's). */
    loopDelay(): LoopDelay {
      let p99 = 0;
      let max = 0;
      for (const r of latest) {
        p99 = Math.max(p99, r?.loopDelayMs.p99 ?? 0);
        max = Math.max(max, r?.loopDelayMs.max ?? 0);
      }
      return { p99, max };
    },
    phase(name: string): void {
      phase = createHistogram();
      phases.set(name, phase);
    },
    phaseLatency: (name: string): Summary | undefined => phases.get(name)?.summary(),
    get peakConnected() {
      return peakConnected;
    },
    get peakConnectRate() {
      return peakConnectRate;
    },
  };
}

export type FleetStats = ReturnType<typeof createFleetStats>;
