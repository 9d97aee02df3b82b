// The outbox: the contract on both stores, and what only SQLite does (reopen, migration, a real SQLITE_FULL).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { createMemoryOutbox, createSqliteOutbox, openSqliteOutbox, readAgentStatus } from '../../agent/src/index.js';
import { openStateDb } from '../../agent/src/state/index.js';
import { outboxContract } from '../contract/outbox.contract.js';
import { tmpDir } from '../helpers/tmp.js';

outboxContract('memory', (opts) => createMemoryOutbox(opts));
outboxContract('sqlite', (opts) => openSqliteOutbox(tmpDir(), opts));

test('sqlite outbox survives a reopen with its stream, counters and samples', () => {
  const dir = join(tmpDir(), 'state');
  const a = openSqliteOutbox(dir, { maxSamples: 5 });
  for (let i = 0; i < 8; i++) a.addSample(i, { i });
  a.ackSamples(4, 5);
  const before = a.stats();
  a.close();
  const b = openSqliteOutbox(dir, { maxSamples: 5 });
  assert.equal(b.stats(), before);
  assert.is(b.addSample(9, {}), 9);
  assert.is((statSync(dir).mode & 0o777).toString(8), '700');
  assert.is((statSync(join(dir, 'agent.db')).mode & 0o777).toString(8), '600');
  b.close();
});

test('a real SQLITE_FULL leaves no trace; the drop is counted at once and written with the next stored sample', () => {
  const dir = tmpDir();
  const db = openStateDb(dir);
  const o = createSqliteOutbox(db, { maxSamples: 100_000 });
  o.addSample(1, { a: 1 });
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${pages}`); // the database may not grow: SQLite answers SQLITE_FULL
  const big = { blob: 1, ...Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`metric${i}`, i])) };
  const before = o.stats();
  assert.throws(
    () => o.addSample(2, big),
    (e: Error & { code?: string }) => e.code === 'SQLITE_FULL',
  );
  assert.equal(o.stats(), before, 'a failed sample changes nothing');
  o.recordDropped('disk-full');
  assert.is(o.stats().droppedBy['disk-full'], 1, 'counted in memory at once');
  db.pragma('max_page_count = 1073741823');
  assert.is(o.addSample(3, { a: 3 }), 2, 'the next stored sample takes the next number');
  const r = readAgentStatus(dir);
  assert.equal([r.lastSequence, r.samples, r.dropped, r.droppedBy['disk-full']], [2, 2, 1, 1], 'and on disk');
  o.close();
});

test('a state folder of schema 2 keeps its drop count (as outbox-full) and derives the acknowledged count', () => {
  const dir = tmpDir();
  const a = openSqliteOutbox(dir, { maxSamples: 3 });
  for (let i = 1; i <= 6; i++) a.addSample(i, { i }); // 1-3 dropped
  a.ackSamples(4, 4);
  a.close();
  const old = new Database(join(dir, 'agent.db'));
  old.exec(`
    DELETE FROM kv WHERE key IN ('acked', 'dropped:disk-full', 'dropped:write-failed');
    UPDATE kv SET key = 'dropped' WHERE key = 'dropped:outbox-full';
  `);
  old.pragma('user_version = 2');
  old.close();
  const legacy = readAgentStatus(dir);
  assert.equal([legacy.acknowledged, legacy.samples, legacy.droppedBy['outbox-full']], [1, 2, 3], 'read before');
  const b = openSqliteOutbox(dir, { maxSamples: 3 });
  const s = b.stats();
  assert.equal([s.lastSequence, s.acknowledged, s.samples, s.dropped, s.droppedBy['outbox-full']], [6, 1, 2, 3, 3]);
  b.close();
});

test.run();
