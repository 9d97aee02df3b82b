// The ingest thread writer's transition table: every state × event is either the transition below or a bug that
// throws. Then the writer through the transitions a real thread takes it: closed while it starts, a thread that
// dies under load (its batches refused, a new thread started), and one that never becomes ready (the fallback).
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Db, openDb } from '../../broker/src/db/open.js';
import { INGEST_WORKER, type ThreadInit } from '../../broker/src/fleet/ingest-thread.js';
import { type ThreadWriterOptions, threadWriter } from '../../broker/src/fleet/ingest-writer.js';
import {
  nextState,
  WRITER_EVENTS,
  WRITER_STATES,
  type WriterEvent,
  type WriterState,
} from '../../broker/src/fleet/ingest-writer-state.js';
import { createLogger, encodeMessage } from '../../shared/src/index.js';
import { testLogger } from '../helpers/fleet.js';
import { tmpDir } from '../helpers/tmp.js';
import { wireBatch } from '../helpers/wire-batch.js';

// Columns in the order of WRITER_EVENTS; '-' is no transition.
const EXPECTED: Record<WriterState, Record<WriterEvent, WriterState | '-'>> = {
  starting: {
    write: 'starting',
    close: 'closing',
    ready: 'ready',
    unusable: 'inline',
    committed: '-',
    'commit-failed': '-',
    'background-failed': '-',
    pruned: '-',
    died: 'inline',
    closed: '-',
  },
  ready: {
    write: 'ready',
    close: 'closing',
    ready: '-',
    unusable: '-',
    committed: 'ready',
    'commit-failed': 'ready',
    'background-failed': 'ready',
    pruned: 'ready',
    died: 'starting',
    closed: '-',
  },
  inline: {
    write: 'inline',
    close: 'closed',
    ready: '-',
    unusable: '-',
    committed: '-',
    'commit-failed': '-',
    'background-failed': '-',
    pruned: '-',
    died: '-',
    closed: '-',
  },
  closing: {
    write: '-',
    close: '-',
    ready: 'closing',
    unusable: 'closed',
    committed: 'closing',
    'commit-failed': 'closing',
    'background-failed': 'closing',
    pruned: 'closing',
    died: 'closed',
    closed: 'closed',
  },
  closed: {
    write: '-',
    close: '-',
    ready: '-',
    unusable: '-',
    committed: '-',
    'commit-failed': '-',
    'background-failed': '-',
    pruned: '-',
    died: '-',
    closed: '-',
  },
};

test('every state × event: the expected transition, or a throw naming both', () => {
  assert.equal(Object.keys(EXPECTED), [...WRITER_STATES]);
  for (const state of WRITER_STATES) {
    assert.equal(Object.keys(EXPECTED[state]), [...WRITER_EVENTS], state);
    for (const event of WRITER_EVENTS) {
      const expected = EXPECTED[state][event];
      if (expected === '-') {
        assert.throws(
          () => nextState(state, event),
          (err: Error) => err.message.includes(`from ${state} on ${event}`),
          `${state} × ${event} throws`,
        );
      } else assert.is(nextState(state, event), expected, `${state} × ${event}`);
    }
  }
});

test('from every state but closed, closed can be reached; every state can be reached from starting', () => {
  const reachable = (from: WriterState): Set<WriterState> => {
    const seen = new Set<WriterState>([from]);
    for (const s of seen)
      for (const e of WRITER_EVENTS) {
        const next = EXPECTED[s][e];
        if (next !== '-') seen.add(next);
      }
    return seen;
  };
  assert.equal(reachable('starting'), new Set(WRITER_STATES));
  for (const s of WRITER_STATES) assert.ok(reachable(s).has('closed'), s);
});

// ---- The writer on a real thread and a real SQLite file.

function fixture() {
  const file = join(tmpDir('edgeward-writer-'), 'fleet.db');
  const db = openDb(file);
  db.prepare(`INSERT INTO devices (id, status, created_at) VALUES ('gw-a01', 'active', 0)`).run();
  return { db, file, init: { file, synchronous: 'NORMAL' } satisfies ThreadInit };
}

/** The thread writer on the fixture's file, with quiet hooks; `more` names what a test changes. */
const writerFor = (init: ThreadInit, db: Db, more: Partial<ThreadWriterOptions> = {}) =>
  threadWriter({
    init,
    db,
    now: Date.now,
    log: testLogger(),
    onBackgroundFailed: () => undefined,
    onPruned: () => undefined,
    ...more,
  });

const batchOf = (seqs: number[]) =>
  wireBatch(
    seqs.map(
      (seq) =>
        [
          'gw-a01',
          'telemetry',
          encodeMessage({
            v: 1,
            id: `msg-${String(seq).padStart(8, '0')}`,
            ts: 0,
            stream: 'stream-0001',
            samples: [{ seq, ts: 0, m: { t: seq } }],
          }),
        ] as const,
    ),
  );

test('closed while its thread starts: the close waits for the thread, which stores nothing', async () => {
  const { db, init } = fixture();
  const writer = writerFor(init, db);
  await writer.close();
  db.close();
});

test('a thread that dies: its batches are refused, a new thread stores the next ones', async () => {
  const { db, init } = fixture();
  const threads: Worker[] = [];
  const writer = writerFor(init, db, {
    startThread: (i) => {
      const w = INGEST_WORKER.start(i);
      threads.push(w);
      return w;
    },
  });
  try {
    const first = await writer.write(batchOf([1, 2]), false);
    assert.equal([...first.inserted], [1, 1]);
    // Stopped with a batch in flight. If the thread answered before it stopped, the batch was committed and may be
    // acknowledged; otherwise it must be refused, never acknowledged unstored.
    const inFlight = writer.write(batchOf([3]), false);
    await threads[0]!.terminate();
    const acked = await inFlight.then(
      () => true,
      (err: Error) => {
        assert.match(err.message, /ingest thread failed/);
        return false;
      },
    );
    const stored = () => db.prepare('SELECT seq FROM telemetry ORDER BY seq').pluck().all();
    if (acked) assert.equal(stored(), [1, 2, 3], 'an acknowledged batch was committed');
    // The device resends what was not acknowledged (and, to be sure, what was): stored once either way.
    const resent = await writer.write(batchOf([3, 4]), false);
    assert.is(resent.inserted.length, 2);
    assert.ok(threads.length >= 2, 'a new thread started');
    assert.equal(stored(), [1, 2, 3, 4]);
  } finally {
    await writer.close();
    db.close();
  }
});

test('a thread that never becomes ready: batches go to this thread, with a warning', async () => {
  const { db } = fixture();
  const lines: string[] = [];
  const log = createLogger({ write: (l) => void lines.push(l), level: 'warn' });
  const init = { file: join(tmpDir('edgeward-writer-'), 'missing', 'fleet.db'), synchronous: 'NORMAL' as const };
  const writer = writerFor(init, db, { log });
  const stored = await writer.write(batchOf([1]), false);
  assert.equal([...stored.inserted], [1]);
  assert.ok(
    lines.some((l) => l.includes('ingest thread did not start')),
    lines.join(''),
  );
  await writer.close();
  db.close();
});

test('a thread that cannot even be created: the same fallback, no throw', async () => {
  const { db, init } = fixture();
  const lines: string[] = [];
  const log = createLogger({ write: (l) => void lines.push(l), level: 'warn' });
  const writer = writerFor(init, db, {
    log,
    startThread: () => {
      throw new Error('ERR_WORKER_PATH');
    },
  });
  assert.equal([...(await writer.write(batchOf([1]), false)).inserted], [1]);
  assert.ok(
    lines.some((l) => l.includes('ingest thread did not start') && l.includes('ERR_WORKER_PATH')),
    lines.join(''),
  );
  await writer.close();
  db.close();
});

test.run();
