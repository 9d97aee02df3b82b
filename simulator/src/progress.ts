// The live progress line: connected devices, messages per second, end-to-end latency of the last seconds
// (sample made → stored and acknowledged) and errors. Redrawn in place on a terminal, a plain line otherwise.
import type { Totals } from './fleet-stats.js';
import type { Summary } from './metrics.js';
import type { Tick } from './scenarios/types.js';

const n = (v: number) => Math.round(v).toLocaleString('en-US');

export function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export function progressLine(o: {
  stage: string;
  elapsedMs: number;
  devices: number;
  tick: Tick;
  totals: Totals;
  latency: Summary;
}): string {
  const errors = Object.values(o.totals.errors).reduce((a, b) => a + b, 0);
  const lat = o.latency.count > 0 ? `p50 ${n(o.latency.p50)} ms  p99 ${n(o.latency.p99)} ms` : 'p50 –  p99 –';
  return (
    `[${clock(o.elapsedMs)}] ${o.stage.padEnd(10)} connected ` +
    `${n(o.tick.connected).padStart(String(n(o.devices)).length)}/${n(o.devices)}  msg/s ` +
    `${n(o.tick.ackedPerSecond).padStart(6)}  e2e ${lat}  errors ${n(errors)}`
  );
}

/** Writes progress lines: in place every second on a terminal, every `everyMs` (default 5 s) otherwise. */
export function createProgressWriter(stream: NodeJS.WriteStream = process.stderr, everyMs = 5000) {
  const tty = stream.isTTY === true;
  let lastAt = 0;
  let drawn = false;
  return {
    line(text: string): void {
      if (tty) {
        stream.write(`\r\x1b[2K${text}`);
        drawn = true;
        return;
      }
      const now = Date.now();
      if (now - lastAt < everyMs) return;
      lastAt = now;
      stream.write(`${text}\n`);
    },
    /** A message between progress lines. */
    note(text: string): void {
      stream.write(`${tty && drawn ? '\r\x1b[2K' : ''}${text}\n`);
      drawn = false;
    },
    done(): void {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}
