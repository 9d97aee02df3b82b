// Runs the posture snapshotter (db/posture-snapshots.ts) on the server's event loop: at start, then every minute,
// and again shortly after while a backlog remains, so a year of missing periods is computed in slices between
// which MQTT and the API are served. A period of a 10,000-device fleet is one query set of ~60-150 ms (measured
// with bench/lib/dashboard-seed.ts): the routine run takes that once an hour; a backlog pauses twice as long as
// each slice took, so the loop stays at least two thirds free while a year is filled in (about three minutes).
import type { Logger } from '../../../shared/src/index.js';
import type { Db } from '../db/open.js';
import { createPostureSnapshotter, type SnapshotterOptions } from '../db/posture-snapshots.js';

/** Between two runs with nothing left to compute: a period settles a minute after it ends. */
export const SNAPSHOT_INTERVAL_MS = 60_000;
/** Between two slices of a backlog, at least: the event loop serves what queued meanwhile. */
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
    const began = performance.now();
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
    const took = performance.now() - began;
    schedule(remaining > 0 ? Math.max(BACKLOG_PAUSE_MS, 2 * took) : SNAPSHOT_INTERVAL_MS);
  }

  run();
  return {
    close() {
      if (state.kind === 'scheduled') clearTimeout(state.timer);
      state = { kind: 'closed' };
    },
  };
}
