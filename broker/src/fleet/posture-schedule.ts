// Runs the posture snapshotter (db/posture-snapshots.ts) on the server's event loop: at start, then every minute,
// and again shortly after while a backlog remains, so a year of missing periods is computed in slices of at most
// ~50 ms between which MQTT and the API are served.
import type { Logger } from '../../../shared/src/index.js';
import type { Db } from '../db/open.js';
import { createPostureSnapshotter, type SnapshotterOptions } from '../db/posture-snapshots.js';

/** Between two runs with nothing left to compute: a period settles a minute after it ends. */
export const SNAPSHOT_INTERVAL_MS = 60_000;
/** Between two slices of a backlog: long enough for the event loop to serve what queued meanwhile. */
export const BACKLOG_PAUSE_MS = 20;

export interface PostureScheduleOptions extends SnapshotterOptions {
  readonly db: Db;
  readonly log: Logger;
  /** A run failed (the database, most likely); the next one is still scheduled. */
  readonly onError: (err: unknown) => void;
}

type State =
  | { readonly kind: 'running' }
  | { readonly kind: 'scheduled'; readonly timer: NodeJS.Timeout }
  | { readonly kind: 'closed' };

export function schedulePostureSnapshots(opts: PostureScheduleOptions): { close(): void } {
  const snapshotter = createPostureSnapshotter(opts.db, opts);
  /** Periods computed since the last run that left nothing to do. */
  let backlog = 0;
  let state: State = { kind: 'running' };

  const schedule = (ms: number): void => {
    const timer = setTimeout(run, ms);
    // A pending run never keeps the process alive: close() clears it anyway.
    timer.unref();
    state = { kind: 'scheduled', timer };
  };

  function run(): void {
    if (state.kind === 'closed') return;
    state = { kind: 'running' };
    let remaining = 0;
    try {
      const r = snapshotter.catchUp();
      remaining = r.remaining;
      backlog += r.computed;
      // The routine run computes an hour, and a day at midnight: only a real backlog is worth a line.
      if (remaining === 0 && backlog > 2) opts.log.info('posture history caught up', { periods: backlog });
      if (remaining === 0) backlog = 0;
    } catch (err) {
      opts.onError(err);
    }
    schedule(remaining > 0 ? BACKLOG_PAUSE_MS : SNAPSHOT_INTERVAL_MS);
  }

  run();
  return {
    close() {
      if (state.kind === 'scheduled') clearTimeout(state.timer);
      state = { kind: 'closed' };
    },
  };
}
