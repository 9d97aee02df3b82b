// Takes a telemetry sample every interval and stores it in the outbox before anything is sent.
import type { Logger } from '../../../shared/src/index.js';
import type { OutboxStore } from '../outbox/index.js';
import type { Platform } from '../platform/index.js';

export interface SamplerOptions {
  readonly platform: Platform;
  readonly outbox: OutboxStore;
  readonly log: Logger;
  readonly intervalMs: number;
  readonly now?: () => number;
  readonly onSample: (seq: number) => void;
}

export interface Sampler {
  start(): void;
  stop(): void;
  sampleNow(): Promise<number>;
  setInterval(ms: number): void;
}

export function createSampler(opts: SamplerOptions): Sampler {
  const now = opts.now ?? Date.now;
  let intervalMs = opts.intervalMs;
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  async function sampleNow(): Promise<number> {
    const metrics = await opts.platform.readMetrics();
    const seq = opts.outbox.addSample(now(), metrics);
    opts.onSample(seq);
    return seq;
  }

  function tick(): void {
    sampleNow().catch((err: unknown) => opts.log.error('sampling failed', { error: err as Error }));
  }

  return {
    start() {
      if (running) return;
      running = true;
      tick();
      timer = setInterval(tick, intervalMs);
    },
    stop() {
      running = false;
      clearInterval(timer);
    },
    sampleNow,
    setInterval(ms) {
      intervalMs = ms;
      if (running) {
        clearInterval(timer);
        timer = setInterval(tick, intervalMs);
      }
    },
  };
}
