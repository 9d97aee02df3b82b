// Takes a telemetry sample every interval and stores it in the outbox before anything is sent. A sample that
// cannot be stored (a full disk) is counted as dropped with its reason, and the outage is logged when it starts
// and when it ends, not once a second.
//
// Samples are due on a fixed grid from the start (start + k·interval, on a monotonic clock). A tick that runs late
// does not move the next one: with setInterval each late tick would re-arm from when it ran, so every device
// delayed by the same stall (a busy simulator, a broker outage's backlog) would sample in lockstep from then on,
// and a fleet's messages would come in bursts instead of spread over the interval.
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../../shared/src/index.js';
import { AgentError } from '../errors.js';
import type { OutboxStore, StoreFailure } from '../outbox/index.js';
import type { Platform } from '../platform/index.js';

export interface SamplerOptions {
  readonly platform: Platform;
  readonly outbox: OutboxStore;
  readonly log: Logger;
  readonly intervalMs: number;
  readonly now?: () => number;
  /**
   * A tick that runs more than this many ms after it was due takes no sample (`onSkipped`); the next is due on the
   * grid. Without it a late tick always samples, and only whole intervals missed in a stall are skipped.
   */
  readonly skipLateMs?: number;
  readonly onSkipped?: () => void;
  readonly onSample: (seq: number) => void;
}

export interface Sampler {
  start(): void;
  stop(): void;
  /** Takes and stores one sample; rejects with AGENT_SAMPLE_DROPPED (after counting it) when it cannot be stored. */
  sampleNow(): Promise<number>;
  setInterval(ms: number): void;
}

/**
 * When the next sample is due after one due at `due`, at time `t`: the next point of the grid `due + k·interval`
 * after `t`. Intervals missed while the process was stalled are skipped, not made up in a burst.
 */
export function nextDue(due: number, intervalMs: number, t: number): number {
  const next = due + intervalMs;
  return next > t ? next : next + (Math.floor((t - next) / intervalMs) + 1) * intervalMs;
}

/** Storage errors that mean "no space": SQLite's SQLITE_FULL (SQLITE_FULL_* too), or the file system's own. */
const DISK_FULL = /^(SQLITE_FULL|ENOSPC|EDQUOT)/;

export function storeFailureOf(err: unknown): StoreFailure {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && DISK_FULL.test(code) ? 'disk-full' : 'write-failed';
}

export function createSampler(opts: SamplerOptions): Sampler {
  const now = opts.now ?? Date.now;
  let intervalMs = opts.intervalMs;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  /** When the last tick was due on the grid, in performance.now() ms: a wall-clock step must not move the grid. */
  let due = 0;
  // 'dropping' from the first sample that could not be stored until one is stored again.
  let storage: { state: 'storing' } | { state: 'dropping'; since: number; dropped: number } = { state: 'storing' };

  function store(metrics: Record<string, number>): number {
    let seq: number;
    try {
      seq = opts.outbox.addSample(now(), metrics);
    } catch (err) {
      const reason = storeFailureOf(err);
      opts.outbox.recordDropped(reason);
      if (storage.state === 'storing') {
        storage = { state: 'dropping', since: now(), dropped: 0 };
        opts.log.error('cannot store telemetry samples: each is counted as dropped until storage works again', {
          reason,
          error: err as Error,
        });
      }
      storage.dropped++;
      throw new AgentError(
        'AGENT_SAMPLE_DROPPED',
        `the sample could not be stored (${reason}) and was counted as dropped`,
        {
          cause: err,
          details: { reason },
        },
      );
    }
    if (storage.state === 'dropping') {
      opts.log.warn('telemetry samples are stored again', {
        dropped: storage.dropped,
        outageMs: now() - storage.since,
        seq,
      });
      storage = { state: 'storing' };
    }
    return seq;
  }

  async function sampleNow(): Promise<number> {
    const seq = store(await opts.platform.readMetrics());
    opts.onSample(seq);
    return seq;
  }

  function tick(): void {
    sampleNow().catch((err: unknown) => {
      // A drop was counted and its outage logged once; anything else (the platform's metrics) is logged each time.
      if ((err as AgentError).code !== 'AGENT_SAMPLE_DROPPED')
        opts.log.error('sampling failed', { error: err as Error });
    });
  }

  function arm(t: number): void {
    due = nextDue(due, intervalMs, t);
    // Whole milliseconds: Node keeps one timer list per distinct delay.
    timer = setTimeout(onTimer, Math.ceil(due - t));
  }

  function onTimer(): void {
    const t = performance.now();
    if (opts.skipLateMs === undefined || t - due <= opts.skipLateMs) tick();
    else opts.onSkipped?.();
    if (running) arm(t);
  }

  return {
    start() {
      if (running) return;
      running = true;
      // Samples now, and then every interval from now.
      due = performance.now();
      tick();
      arm(due);
    },
    stop() {
      running = false;
      clearTimeout(timer);
    },
    sampleNow,
    setInterval(ms) {
      intervalMs = ms;
      if (running) {
        clearTimeout(timer);
        due = performance.now();
        arm(due);
      }
    },
  };
}
