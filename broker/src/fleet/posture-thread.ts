// The posture snapshotter (db/posture-snapshots.ts) on a thread of its own, on its own connection: a period of a
// 10,000-device fleet is one query set of ~60-150 ms (measured on bench/lib/dashboard-seed.ts's fleet), which on
// the event loop would hold up the devices' PUBACKs and the API once an hour, and for minutes while a year of
// missing periods is filled in. The thread runs at start, then every minute; while a backlog remains it goes on
// at once, a slice at a time, so a close request is taken between slices.
import { parentPort, type Worker } from 'node:worker_threads';
import type { Logger } from '../../../shared/src/index.js';
import { defineWorker, siblingModule } from '../../../shared/src/worker.js';
import { openDb } from '../db/open.js';
import { createPostureSnapshotter } from '../db/posture-snapshots.js';

/** Between two runs with nothing left to compute: a period is stored a minute after it ends (SETTLE_MS). */
export const SNAPSHOT_INTERVAL_MS = 60_000;

export interface PostureThreadInit {
  /** The fleet database, already opened (and migrated) by the server. */
  readonly file: string;
  /** Tests: the wall clock as an offset from the thread's own (ms). */
  readonly clockOffsetMs?: number;
}

/** Runs from the sources as posture-thread.ts, from dist/fleet.js as dist/posture-thread.js. */
export const POSTURE_WORKER = defineWorker<PostureThreadInit>(
  'edgeward-posture-thread',
  siblingModule(import.meta.url, 'posture-thread'),
);

/** What the thread tells the server. */
type ThreadReport =
  | { readonly type: 'caught-up'; readonly periods: number }
  | { readonly type: 'failed'; readonly code: string; readonly message: string };

type State =
  | { readonly kind: 'running' }
  | { readonly kind: 'waiting'; readonly timer: NodeJS.Timeout }
  | { readonly kind: 'closed' };

function runThread(init: PostureThreadInit): void {
  const port = parentPort!;
  const db = openDb(init.file);
  const offset = init.clockOffsetMs ?? 0;
  // Off the event loop, a slice need not be short: only short enough for a close request to wait little.
  const snapshotter = createPostureSnapshotter(db, { now: () => Date.now() + offset, maxPeriods: 20, budgetMs: 500 });
  /** Periods computed since the last run that left nothing to do. */
  let backlog = 0;
  let state: State = { kind: 'running' };

  const run = (): void => {
    if (state.kind === 'closed') return;
    state = { kind: 'running' };
    let remaining = 0;
    try {
      const r = snapshotter.catchUp();
      remaining = r.remaining;
      backlog += r.computed;
      if (remaining === 0 && backlog > 0)
        port.postMessage({ type: 'caught-up', periods: backlog } satisfies ThreadReport);
      if (remaining === 0) backlog = 0;
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      port.postMessage({
        type: 'failed',
        code: typeof e.code === 'string' ? e.code : 'INTERNAL',
        message: typeof e.message === 'string' ? e.message : String(err),
      } satisfies ThreadReport);
    }
    // setImmediate would not let the close message in first: a 0 ms timer does.
    state = { kind: 'waiting', timer: setTimeout(run, remaining > 0 ? 0 : SNAPSHOT_INTERVAL_MS) };
  };

  port.on('message', (m: { type: 'close' }) => {
    if (m.type !== 'close') return;
    if (state.kind === 'waiting') clearTimeout(state.timer);
    state = { kind: 'closed' };
    db.close();
    port.close();
  });
  run();
}

export interface PostureThread {
  close(): Promise<void>;
}

export interface PostureThreadOptions extends PostureThreadInit {
  readonly log: Logger;
  /** Tests: start the thread another way. */
  readonly startThread?: (init: PostureThreadInit) => Worker;
}

/**
 * Starts the thread. It never keeps the process alive (unref); a failed run is logged and the next one still
 * comes. A thread that dies is not started again: its periods are filled in by the next server start.
 */
export function startPostureThread(opts: PostureThreadOptions): PostureThread {
  const { log } = opts;
  const init: PostureThreadInit = {
    file: opts.file,
    ...(opts.clockOffsetMs !== undefined ? { clockOffsetMs: opts.clockOffsetMs } : {}),
  };
  const worker = (opts.startThread ?? ((i: PostureThreadInit) => POSTURE_WORKER.start(i)))(init);
  worker.unref();
  let closing = false;
  worker.on('message', (m: ThreadReport) => {
    // A run after a routine one computes an hour, and a day at midnight: only a real backlog is worth a line.
    if (m.type === 'caught-up' && m.periods > 2) log.info('posture history caught up', { periods: m.periods });
    if (m.type === 'failed') log.error('posture snapshot failed', { code: m.code, reason: m.message });
  });
  worker.on('error', (err) => log.error('the posture snapshot thread failed', { code: 'INTERNAL', error: err }));
  worker.on('exit', (code) => {
    if (!closing) log.error('the posture snapshot thread stopped', { code: 'INTERNAL', exitCode: code });
  });
  return {
    async close() {
      if (closing) return;
      closing = true;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.ref();
      worker.postMessage({ type: 'close' });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000).unref())]);
      await worker.terminate();
    },
  };
}

if (POSTURE_WORKER.input && parentPort) runThread(POSTURE_WORKER.input);
