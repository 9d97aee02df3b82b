// Ingest's writers: each stores one batch in a transaction and resolves with what it did. The thread writer hands
// batches to the ingest thread (ingest-thread.ts) and is driven by the transition table of ingest-writer-state.ts;
// the inline writer stores on this thread's connection (tools, tests, and the fallback when the thread cannot start).
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../../../shared/src/index.js';
import { dbFailure, failureFrom, stopsTheServer } from '../db/failure.js';
import type { Db } from '../db/open.js';
import { FleetError } from '../errors.js';
import { DEFAULT_PRUNE_SCHEDULE, type Pruned, type Retention, schedulePruning } from './ingest-retention.js';
import { createOpener, type Opener, type SealingInit } from './ingest-open.js';
import { createIngestStore } from './ingest-store.js';
import {
  type BackgroundTask,
  INGEST_WORKER,
  type Stored,
  sliceStored,
  storeBatches,
  type ThreadInit,
  type ThreadReply,
  type ThreadRequest,
  type WireBatch,
  wireTransfer,
} from './ingest-thread.js';
import { nextState, type WriterEvent, type WriterState } from './ingest-writer-state.js';

/** Stores one batch in a transaction; rejects when nothing of it was stored. */
export interface Writer {
  write(batch: WireBatch, wantMessages: boolean): Promise<Stored>;
  /** Called once, when nothing is being written any more. */
  close(): Promise<void>;
}

/** Refuses every batch with `err` (the database cannot be used). */
const refusingWriter = (err: Error): Writer => ({
  write: () => Promise.reject(err),
  close: async () => undefined,
});

/** What a writer tells ingest of the work it does besides storing batches. */
export interface WriterHooks {
  /** A checkpoint or a retention transaction failed (with the fleet's code, e.g. FLEET_DB_FULL). */
  readonly onBackgroundFailed: (task: BackgroundTask, err: Error) => void;
  /** A retention transaction deleted old rows. */
  readonly onPruned: (pruned: Pruned) => void;
}

/** Stores on `db`, this thread's connection; runs retention here too, in small transactions from a timer. */
export function inlineWriter(
  db: Db,
  now: () => number,
  retention: Retention | undefined,
  hooks: WriterHooks,
  sealing?: SealingInit,
): Writer {
  let store: ReturnType<typeof createIngestStore>;
  let opener: Opener | undefined;
  try {
    store = createIngestStore(db, retention);
    if (sealing) opener = createOpener(db, sealing);
  } catch (err) {
    return refusingWriter(dbFailure(err, db.name) ?? (err as Error));
  }
  const pruning =
    store.retains &&
    schedulePruning(() => store.prune(now()), {
      ...DEFAULT_PRUNE_SCHEDULE,
      onPruned: hooks.onPruned,
      onFailed: (err) => hooks.onBackgroundFailed('retention', dbFailure(err, db.name) ?? (err as Error)),
    });
  return {
    write: async (batch, wantMessages) => {
      try {
        return storeBatches(store, [batch], wantMessages, now, opener);
      } catch (err) {
        throw dbFailure(err, db.name) ?? err;
      }
    },
    close: async () => {
      if (pruning) pruning.stop();
    },
  };
}

export interface ThreadWriterOptions extends WriterHooks {
  readonly init: ThreadInit;
  /** This thread's connection, for the fallback. */
  readonly db: Db;
  readonly now: () => number;
  readonly log: Logger;
  /** Starts the ingest thread (tests wrap it to stop the thread); INGEST_WORKER.start by default. */
  readonly startThread?: (init: ThreadInit) => Worker;
}

type Batch = { readonly batch: WireBatch; readonly wantMessages: boolean } & Settle;
type Settle = { readonly resolve: (s: Stored) => void; readonly reject: (e: Error) => void };

/** What happened, with what it carries: the events of WRITER_EVENTS. */
type Event =
  | { readonly type: 'write'; readonly batch: Batch }
  | { readonly type: 'close'; readonly done: () => void }
  | { readonly type: 'ready' }
  | { readonly type: 'unusable'; readonly error: Error }
  | { readonly type: 'committed'; readonly ids: readonly number[]; readonly stored: Stored }
  | { readonly type: 'commit-failed'; readonly ids: readonly number[]; readonly error: Error }
  | { readonly type: 'background-failed'; readonly task: BackgroundTask; readonly error: Error }
  | { readonly type: 'pruned'; readonly pruned: Pruned }
  | { readonly type: 'died'; readonly reason: string }
  | { readonly type: 'closed' };

/**
 * The ingest thread, started at once. If it cannot start (a broken install), ingest falls back to this thread with
 * a warning rather than refusing every message; if it fails later, the batches in flight are refused (the devices
 * resend them) and a new thread starts.
 */
export function threadWriter(opts: ThreadWriterOptions): Writer {
  const { init, db, now, log } = opts;
  let state: WriterState = 'starting';
  /** The thread of 'starting', 'ready' and 'closing'; undefined once it is done with. */
  let worker: Worker | undefined;
  /** Where batches go in 'inline'. */
  let fallback: Writer | undefined;
  /** 'starting': batches kept here until the thread is ready; their buffers move only then, so none is lost. */
  let waiting: Batch[] = [];
  /** Batches the thread holds, by id, with the number of messages in each. */
  const sent = new Map<number, Settle & { readonly length: number }>();
  let nextId = 1;
  let closeDone: (() => void) | undefined;

  const startThread = opts.startThread ?? ((i: ThreadInit) => INGEST_WORKER.start(i));
  const start = () => {
    let w: Worker;
    try {
      w = startThread(init);
    } catch (err) {
      // No thread at all (its module cannot be loaded): the same as one that dies before it is ready.
      dispatch({ type: 'died', reason: `cannot start: ${(err as Error).message}` });
      return;
    }
    // Events of a thread that is no longer the current one (it failed and was replaced) are no news.
    const from = (event: Event) => {
      if (w === worker) dispatch(event);
    };
    w.on('message', (reply: ThreadReply) => from(eventOf(reply)));
    w.on('error', (err) => from({ type: 'died', reason: err.message }));
    w.on('exit', (code) => from({ type: 'died', reason: `exited with code ${code}` }));
    worker = w;
  };

  const post = (b: Batch) => {
    const id = nextId++;
    try {
      worker!.postMessage(
        { type: 'batch', id, batch: b.batch, wantMessages: b.wantMessages } satisfies ThreadRequest,
        wireTransfer(b.batch),
      );
      sent.set(id, { length: b.batch.deviceIds.length, resolve: b.resolve, reject: b.reject });
    } catch (err) {
      b.reject(err as Error);
    }
  };

  /**
   * Stops the thread and forgets it (its later events are ignored). What it held was not acknowledged: the devices
   * send it again. Resolves once the thread has exited.
   */
  const dropThread = (reason: string): { lost: number; exited: Promise<unknown> } => {
    const exited = worker?.terminate() ?? Promise.resolve();
    worker = undefined;
    const lost = [...sent.values()];
    sent.clear();
    for (const f of lost) f.reject(new Error(`ingest thread failed: ${reason}`));
    return { lost: lost.length, exited };
  };

  /** The thread never became ready: store on this thread's connection from now on. */
  const goInline = (reason: string, error?: Error) => {
    dropThread(reason);
    // A damaged or failing database is not a broken install: storing through this thread's connection would not
    // mend it, and the failures that stop the server (db/failure.ts) stop it here too.
    if (stopsTheServer(error)) fallback = refusingWriter(error);
    else {
      log.warn('ingest thread did not start; storing on the main thread', {
        reason,
        ...(error instanceof FleetError ? { code: error.code } : {}),
      });
      db.pragma('wal_autocheckpoint = 1000'); // SQLite's default: this connection writes now
      fallback = inlineWriter(db, now, init.retention, opts, init.sealing);
    }
    const held = waiting;
    waiting = [];
    for (const b of held) fallback.write(b.batch, b.wantMessages).then(b.resolve, b.reject);
  };

  /** One commit: every batch in it settles in this turn, so their PUBACKs leave together. */
  const settle = (ids: readonly number[], outcome: { stored: Stored } | { error: Error }) => {
    let at = 0;
    for (const id of ids) {
      const f = sent.get(id);
      if (!f) continue;
      sent.delete(id);
      if ('stored' in outcome) f.resolve(sliceStored(outcome.stored, at, f.length));
      else f.reject(outcome.error);
      at += f.length;
    }
  };

  function dispatch(event: Event): void {
    const from = state;
    state = nextState(from, event.type satisfies WriterEvent);
    switch (event.type) {
      case 'write':
        if (from === 'starting') waiting.push(event.batch);
        else if (from === 'ready') post(event.batch);
        else fallback!.write(event.batch.batch, event.batch.wantMessages).then(event.batch.resolve, event.batch.reject);
        return;
      case 'close': {
        if (from === 'inline') {
          void fallback!.close().then(event.done);
          return;
        }
        closeDone = event.done;
        const held = waiting;
        waiting = [];
        for (const b of held) b.reject(new Error('ingest is closed'));
        worker!.postMessage({ type: 'close' } satisfies ThreadRequest);
        return;
      }
      case 'ready': {
        const held = waiting;
        waiting = [];
        for (const b of held) post(b);
        return;
      }
      case 'unusable':
        if (from === 'starting') goInline(event.error.message, event.error);
        else finishClose(event.error.message);
        return;
      case 'committed':
        settle(event.ids, { stored: event.stored });
        return;
      case 'commit-failed':
        settle(event.ids, { error: event.error });
        return;
      case 'background-failed':
        opts.onBackgroundFailed(event.task, event.error);
        return;
      case 'pruned':
        opts.onPruned(event.pruned);
        return;
      case 'died':
        if (from === 'starting') goInline(event.reason);
        else if (from === 'closing') finishClose(event.reason);
        else {
          const { lost } = dropThread(event.reason);
          log.error('ingest thread failed; the batches in flight are refused and resent by the devices', {
            reason: event.reason,
            batches: lost,
          });
          start();
        }
        return;
      case 'closed':
        finishClose('closed');
        return;
      default: {
        const unknown: never = event;
        throw new Error(`ingest writer: unknown event ${JSON.stringify(unknown)}`);
      }
    }
  }

  /** The thread is done with (closed as asked, or gone while closing). */
  function finishClose(reason: string): void {
    const done = closeDone!;
    void dropThread(reason).exited.then(done, done);
  }

  start();
  return {
    write: (batch, wantMessages) =>
      new Promise((resolve, reject) => dispatch({ type: 'write', batch: { batch, wantMessages, resolve, reject } })),
    close: () => new Promise<void>((done) => dispatch({ type: 'close', done })),
  };
}

/** The writer's event for a reply of the thread. */
function eventOf(reply: ThreadReply): Event {
  switch (reply.type) {
    case 'ready':
      return { type: 'ready' };
    case 'unusable':
      return { type: 'unusable', error: failureFrom(reply.code, reply.message) };
    case 'result':
      return { type: 'committed', ids: reply.ids, stored: reply.stored };
    case 'failed':
      return { type: 'commit-failed', ids: reply.ids, error: failureFrom(reply.code, reply.message) };
    case 'background-failed':
      return { type: 'background-failed', task: reply.task, error: failureFrom(reply.code, reply.message) };
    case 'pruned':
      return { type: 'pruned', pruned: reply.pruned };
    case 'closed':
      return { type: 'closed' };
    default: {
      const unknown: never = reply;
      throw new Error(`ingest writer: unknown reply ${JSON.stringify(unknown)}`);
    }
  }
}
