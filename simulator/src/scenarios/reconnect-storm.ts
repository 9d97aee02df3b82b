// reconnect-storm: the whole fleet loses its connections at once (cut at the loopback proxy, or a server
// restart) and comes back. Measures the time until every device is connected again, the peak connection rate
// on the way, and that no sample was lost (the agents' outboxes resend; the server stores each sample once).
import type { Scenario, Tick } from './types.js';

/** The longest a storm is followed. */
const HARD_CAP_MS = 15 * 60_000;

export const reconnectStorm: Scenario = {
  name: 'reconnect-storm',
  summary: 'every connection cut at once (proxy or server restart): time until all are back, peak connects/s, loss',
  viaProxy: (o) => o.stormMode === 'proxy',
  async run(ctx) {
    const { options: o, fleet } = ctx;
    const n = fleet.ids.length;
    const quiet = Math.max(2000, o.durationMs * 0.3);
    if (!(await ctx.sleep(quiet))) return { fields: {}, invariants: [] };

    let peak = 0;
    let recovering = false;
    const off = fleet.onTick((t: Tick) => {
      if (recovering) peak = Math.max(peak, t.connectsPerSecond);
    });
    const before = fleet.totals();
    const cutAt = Date.now();
    recovering = true;
    if (o.stormMode === 'restart') {
      if (!fleet.restartServer) throw new Error('--storm restart needs a server the simulator can restart');
      ctx.note(`storm: restarting the fleet server with ${before.connected} devices connected`);
      await fleet.restartServer();
    } else {
      ctx.note(`storm: cutting ${before.connected} connections, refusing new ones for ${o.outageMs} ms`);
      fleet.cut(o.outageMs);
    }

    // Back means: every device was seen disconnecting, and all are connected again. The wait goes on while
    // devices still come back: it ends only when none has connected for longer than the agents' longest
    // back-off (they are retrying, not stuck), or after a hard cap.
    const stallMs = o.reconnect.maxSeconds * 1000 + 10_000;
    const deadline = cutAt + HARD_CAP_MS;
    let backAt: number | null = null;
    let seen = before.connects;
    let progressAt = Date.now();
    // The connects counted at each poll, for the peak over any one-second window: the per-second ticks alone miss
    // a storm that is over before the next tick.
    const polls: { at: number; connects: number }[] = [{ at: cutAt, connects: before.connects }];
    while (Date.now() < deadline && Date.now() - progressAt < stallMs && !ctx.signal.aborted) {
      const t = fleet.totals();
      polls.push({ at: Date.now(), connects: t.connects });
      if (t.disconnects - before.disconnects >= before.connected && t.connected >= n) {
        backAt = Date.now();
        break;
      }
      if (t.connects > seen) {
        seen = t.connects;
        progressAt = Date.now();
      }
      await ctx.sleep(100);
    }
    off();
    peak = Math.max(peak, peakPerSecond(polls));
    const reconnectSeconds = backAt === null ? null : Math.round((backAt - cutAt) / 100) / 10;
    ctx.note(
      backAt === null
        ? 'storm: not every device came back in time'
        : `storm: every device back after ${reconnectSeconds} s (peak ${peak} connects/s)`,
    );
    const rest = cutAt + (o.durationMs - quiet) - Date.now();
    if (rest > 0) await ctx.sleep(rest);
    return {
      fields: { reconnectSeconds, reconnectPeakRate: peak, outageMs: o.stormMode === 'proxy' ? o.outageMs : 0 },
      invariants: [
        {
          name: 'all-reconnected',
          ok: backAt !== null,
          detail:
            backAt === null
              ? `${fleet.totals().connected} of ${n} devices connected when the wait ended`
              : `all ${n} devices reconnected after ${reconnectSeconds} s`,
        },
      ],
    };
  },
};

/** The most connects between two polls at most a second apart. */
export function peakPerSecond(polls: readonly { at: number; connects: number }[]): number {
  let peak = 0;
  let from = 0;
  for (let i = 1; i < polls.length; i++) {
    while (polls[i]!.at - polls[from]!.at > 1000) from++;
    peak = Math.max(peak, polls[i]!.connects - polls[from]!.connects);
  }
  return peak;
}
