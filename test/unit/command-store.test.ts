// The server's command queue on a real SQLite file: open commands past their expiry are marked expired, and
// the check that runs on every database change takes no write lock while none is due.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCommandStore } from '../../broker/src/db/commands.js';
import { openDb } from '../../broker/src/db/open.js';
import { tmpDir } from '../helpers/tmp.js';

test('expire: only open commands past their expiry, and no write lock while none is due', () => {
  const file = join(tmpDir('edgeward-cmds-'), 'fleet.db');
  const db = openDb(file);
  db.prepare(`INSERT INTO devices (id, status, created_at) VALUES ('gw-001', 'active', 0)`).run();
  const commands = createCommandStore(db);
  const add = (id: string, expiresAt: number) =>
    commands.add({
      id,
      deviceId: 'gw-001',
      command: 'reboot',
      params: {},
      operator: 'ops',
      counter: commands.nextCounter('k1'),
      envelope: new Uint8Array([1]),
      createdAt: 0,
      expiresAt,
    });
  add('cmd-early', 1000);
  add('cmd-late', 5000);
  const status = (id: string) => db.prepare('SELECT status FROM commands WHERE id = ?').pluck().get(id);

  // Another connection holds the write lock (as the ingest thread does while it commits): with nothing due,
  // expire() does not wait for it; with something due, it must.
  const other = new Database(file);
  other.prepare('BEGIN IMMEDIATE').run();
  db.pragma('busy_timeout = 0');
  assert.is(commands.expire(500), 0);
  assert.throws(() => commands.expire(1000), /locked/);
  other.prepare('COMMIT').run();
  other.close();
  assert.is(commands.expire(1000), 1);
  assert.is(status('cmd-early'), 'expired');
  assert.is(status('cmd-late'), 'pending');
  assert.is(commands.expire(1000), 0);
  assert.equal(
    commands.openFor('gw-001', 1000).map((c) => c.id),
    ['cmd-late'],
  );
  db.close();
});

test.run();
