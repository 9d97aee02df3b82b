// The posture snapshotter (db/posture-snapshots.ts) off the event loop: a period of a 10,000-device fleet is one
// query set of ~60-150 ms (measured on bench/lib/dashboard-seed.ts's fleet), which on the event loop would hold up
// the devices' PUBACKs and the API once an hour, and for minutes while a year of missing periods is filled in.
// The server asks every minute (two small queries) whether a completed period lacks its snapshot; only then does
// it start a thread, on its own connection, that computes every missing period and ends. A fleet without reports
// never starts one; a running fleet starts one an hour, for about as long as its hour takes.
import { parentPort, type Worker } from 'node:worker_threads';
import type { Logger } from '../../../shared/src/index.js';
import { defineWorker, siblingModule } from '../../../shared/src/worker.js';
import { openDb } from '../db/open.js';
import type { PostureStore } from '../store/types.js';
import type { StorageKey } from '../../../shared/src/index.js';
import { createPostureSnapshotter } from '../db/posture-snapshots.js';
import { createSqliteStore } from '../store/sqlite-store.js';

/** Between two looks for missing periods: a period is stored a minute after it ends (SETTLE_MS). */
export const SNAPSHOT_INTERVAL_MS = 60_000;

export interface PostureThreadInit {
  /** The fleet database, already opened (and migrated) by the server. */
  readonly file: string;
  /** The folder's storage key when it is encrypted at rest. */
  readonly storageKey?: StorageKey | undefined;
}

/** Runs from the sources as posture-thread.ts, from dist/fleet.js as dist/posture-thread.js. */
export const POSTURE_WORKER = defineWorker<PostureThreadInit>(
  'edgeward-posture-thread',
  siblingModule(import.meta.url, 'posture-thread'),
);

/** What the thread tells the server before it ends. */
type ThreadReport =
  | { readonly type: 'done'; readonly periods: number }
  | { readonly type: 'failed'; readonly code: string; readonly message: string };

/** Computes every missing period, a slice at a time so that a close request is taken between slices, then ends. */
function runThread(init: PostureThreadInit): void {
  const port = parentPort!;
  const db = openDb(init.file, { storageKey: init.storageKey });
  const snapshotter = createPostureSnapshotter(createSqliteStore(db).posture, { maxPeriods: 20, budgetMs: 500 });
  let periods = 0;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const end = (report: ThreadReport | undefined) => {
    if (ended) return;
    ended = true;
    if (timer) clearTimeout(timer);
    if (report) port.postMessage(report);
    db.close();
    port.close();
  };
  // The SQLite store's calls settle at once (better-sqlite3 is synchronous): a slice runs to its end unbroken.
  const slice = async () => {
    try {
      const r = await snapshotter.catchUp();
      if (ended) return;
      periods += r.computed;
      // A 0 ms timer, not setImmediate: it lets a close message in first.
      if (r.remaining > 0) timer = setTimeout(() => void slice(), 0);
      else end({ type: 'done', periods });
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      end({
        type: 'failed',
        code: typeof e.code === 'string' ? e.code : 'INTERNAL',
        message: typeof e.message === 'string' ? e.message : String(err),
      });
    }
  };
  port.on('message', (m: { type: 'close' }) => {
    if (m.type === 'close') end(undefined);
  });
  void slice();
}

type State =
  | { readonly kind: 'idle' }
  | { readonly kind: 'looking' }
  | { readonly kind: 'working'; readonly worker: Worker | undefined; readonly exited: Promise<void> }
  | { readonly kind: 'closed' };

export interface PostureSnapshotsOptions {
  /** Where the snapshots are: the server's database (createSqliteStore) or a cluster's shared store. */
  readonly posture: PostureStore;
  /**
   * SQLite: the periods are computed in a thread on its own connection to this file. Without it (PostgreSQL: the
   * queries do not hold the event loop) they are computed in this process, a slice at a time.
   */
  readonly thread?: PostureThreadInit;
  readonly log: Logger;
  readonly now?: () => number;
  /** Tests: start the thread another way. */
  readonly startThread?: (init: PostureThreadInit) => Worker;
}

/**
 * Looks for missing periods now and every minute, and computes them when there are some (one run at a time). A
 * failed run is logged; the next look starts another. Nothing here keeps the process alive (unref). On a cluster
 * every node looks: two nodes computing the same period store the same row (the period's key decides).
 */
export function startPostureSnapshots(opts: PostureSnapshotsOptions): { close(): Promise<void> } {
  const { log } = opts;
  const snapshotter = createPostureSnapshotter(opts.posture, opts.now ? { now: opts.now } : {});
  const startThread = opts.startThread ?? ((i: PostureThreadInit) => POSTURE_WORKER.start(i));
  let state: State = { kind: 'idle' };
  const caughtUp = (periods: number) => {
    // The routine run computes an hour, and a day at midnight: only a real backlog is worth a line.
    if (periods > 2) log.info('posture history caught up', { periods });
  };

  const inThread = (init: PostureThreadInit): State => {
    const worker = startThread(init);
    worker.unref();
    worker.on('message', (m: ThreadReport) => {
      if (m.type === 'done') caughtUp(m.periods);
      if (m.type === 'failed') log.error('posture snapshot failed', { code: m.code, reason: m.message });
    });
    worker.on('error', (err) => log.error('the posture snapshot thread failed', { code: 'INTERNAL', error: err }));
    const exited = new Promise<void>((resolve) =>
      worker.once('exit', () => {
        if (state.kind === 'working' && state.worker === worker) state = { kind: 'idle' };
        resolve();
      }),
    );
    return { kind: 'working', worker, exited };
  };

  const inProcess = (): State => {
    const run = async () => {
      let periods = 0;
      try {
        for (;;) {
          const r = await snapshotter.catchUp();
          periods += r.computed;
          if (r.remaining === 0 || state.kind === 'closed') break;
        }
        caughtUp(periods);
      } catch (err) {
        const e = err as { code?: unknown };
        log.error('posture snapshot failed', {
          code: typeof e.code === 'string' ? e.code : 'INTERNAL',
          error: err as Error,
        });
      }
      if (state.kind === 'working') state = { kind: 'idle' };
    };
    return { kind: 'working', worker: undefined, exited: run() };
  };

  const look = async () => {
    if (state.kind !== 'idle') return;
    state = { kind: 'looking' };
    let pending = 0;
    try {
      pending = await snapshotter.pending();
    } catch (err) {
      log.error('posture snapshots: could not look for missing periods', { code: 'INTERNAL', error: err as Error });
    }
    if ((state as State).kind === 'closed') return;
    state = pending === 0 ? { kind: 'idle' } : opts.thread ? inThread(opts.thread) : inProcess();
  };

  const timer = setInterval(() => void look(), SNAPSHOT_INTERVAL_MS);
  timer.unref();
  void look();
  return {
    async close() {
      clearInterval(timer);
      const was = state;
      state = { kind: 'closed' };
      if (was.kind !== 'working') return;
      if (!was.worker) {
        await was.exited;
        return;
      }
      was.worker.ref();
      was.worker.postMessage({ type: 'close' });
      await Promise.race([was.exited, new Promise((r) => setTimeout(r, 2000).unref())]);
      await was.worker.terminate();
    },
  };
}

if (POSTURE_WORKER.input && parentPort) runThread(POSTURE_WORKER.input);
