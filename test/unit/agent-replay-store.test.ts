// Replay protection stores: the contract on both implementations, and persistence across restarts on SQLite.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import {
  createMemoryReplayStore,
  createSqliteReplayStore,
  openAgentState,
  openSqliteOutbox,
} from '../../agent/src/index.js';
import { openStateDb } from '../../agent/src/state/index.js';
import { replayStoreContract } from '../contract/replay-store.contract.js';
import { tmpDir } from '../helpers/tmp.js';

replayStoreContract('memory', (opts) => createMemoryReplayStore(opts));
replayStoreContract('sqlite', (opts) => createSqliteReplayStore(openStateDb(tmpDir()), opts));

test('nonces and counters survive a restart (same agent.db as the outbox)', () => {
  const dir = join(tmpDir(), 'state');
  const a = openAgentState(dir, { maxSamples: 10 });
  assert.is(a.replay.admit({ kid: 'k', nonce: 'n1', counter: 7, exp: 1, cmdId: 'cmd-00000001' }), 'ok');
  a.outbox.addSample(1, { x: 1 });
  a.close();
  const b = openAgentState(dir, { maxSamples: 10 });
  assert.is(b.replay.admit({ kid: 'k', nonce: 'n1', counter: 8, exp: 1, cmdId: 'cmd-00000002' }), 'nonce-seen');
  assert.is(b.replay.admit({ kid: 'k', nonce: 'n2', counter: 7, exp: 1, cmdId: 'cmd-00000003' }), 'counter-stale');
  assert.is(b.outbox.stats().lastSequence, 1);
  b.close();
});

test('a state folder written by the previous schema (outbox only) is migrated in place', () => {
  const dir = tmpDir();
  const old = new Database(join(dir, 'agent.db'));
  old.exec(`
    CREATE TABLE samples (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, metrics TEXT NOT NULL) STRICT;
    CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL, payload BLOB NOT NULL) STRICT;
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    INSERT INTO samples VALUES (41, 1, '{}');
    INSERT INTO kv VALUES ('last_seq', '41'), ('stream', 'stream-old-0001');
  `);
  old.pragma('user_version = 1');
  old.close();
  const s = openAgentState(dir, { maxSamples: 10 });
  assert.is(s.outbox.stats().lastSequence, 41);
  assert.is(s.outbox.stream, 'stream-old-0001');
  assert.is(s.replay.admit({ kid: 'k', nonce: 'n', counter: 1, exp: 1, cmdId: 'cmd-00000001' }), 'ok');
  s.close();
  const o = openSqliteOutbox(dir, { maxSamples: 10 });
  assert.is(o.addSample(2, {}), 42);
  o.close();
});

test('a newer schema is refused with AGENT_STATE_DIR', () => {
  const dir = tmpDir();
  const db = new Database(join(dir, 'agent.db'));
  db.pragma('user_version = 99');
  db.close();
  assert.throws(
    () => openAgentState(dir, { maxSamples: 10 }),
    (e: Error & { code?: string }) => e.code === 'AGENT_STATE_DIR' && /newer/.test(e.message),
  );
});

test.run();
