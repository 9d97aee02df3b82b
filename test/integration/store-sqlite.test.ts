// The fleet store contracts on SQLite (a fresh fleet database and releases folder per test), and openStore's sqlite:
// URLs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDb } from '../../broker/src/db/open.js';
import { initPki } from '../../broker/src/fleet/data-dir.js';
import { createSqliteStore, openStore, parseStoreUrl } from '../../broker/src/store/index.js';
import { cert, fleetStoreContract, type StoreUnderTest } from '../contract/fleet-store.contract.js';
import { updateChannelContract } from '../contract/fleet-store-updates.contract.js';
import { operatorAccessContract } from '../contract/fleet-store-operators.contract.js';
import { fleetAuditContract } from '../contract/fleet-store-audit.contract.js';
import { tmpDir } from '../helpers/tmp.js';

const make = async (): Promise<StoreUnderTest> => {
  const dir = tmpDir('edgeward-store-');
  const db = openDb(join(dir, 'fleet.db'));
  return {
    store: createSqliteStore(db, { releasesDir: join(dir, 'releases') }),
    exec: async (sql: string) => db.exec(sql),
  };
};
fleetStoreContract('sqlite', make);
updateChannelContract('sqlite', make);
fleetAuditContract('sqlite', make);
// Two connections on one file, as a server and `fleet … --data` beside it hold.
operatorAccessContract('sqlite', async () => {
  const file = join(tmpDir('edgeward-store-'), 'fleet.db');
  return { a: createSqliteStore(openDb(file)), b: createSqliteStore(openDb(file)) };
});

test('openStore(sqlite:DIR) opens a fleet data folder; other schemes are refused', async () => {
  const dir = tmpDir('edgeward-store-dir-');
  await initPki(dir);
  const store = await openStore(`sqlite:${dir}`);
  assert.is(store.engine, 'sqlite');
  await store.registry.addDevice('gw-1', 'default', cert('s-1'));
  await store.close();
  const again = await openStore(`sqlite:${dir}`);
  assert.is((await again.counts()).devices, 1);
  await again.close();
  for (const url of ['mysql://u:secret@h/db', 'sqlite:', 'fleet.db', 'postgres://u:secret@[bad/db']) {
    try {
      parseStoreUrl(url);
      assert.unreachable(url);
    } catch (err) {
      assert.is((err as { code?: string }).code, 'FLEET_STORE_URL', url);
      assert.not.match((err as Error).message, /secret/);
    }
  }
  try {
    await openStore(`sqlite:${join(dir, 'not-a-folder')}`);
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'FLEET_DATA_DIR');
  }
});

test('a renewal reads then writes: another connection committing meanwhile makes it wait, not fail', async () => {
  // `fleet device renew --data` beside a running server: the other process takes the write lock, and commits while
  // this renewal waits for it. A deferred transaction would have read the live serials from the older snapshot and
  // then failed with SQLITE_BUSY_SNAPSHOT; the renewal takes the write lock first.
  const file = join(tmpDir('edgeward-store-busy-'), 'fleet.db');
  const db = openDb(file);
  const store = createSqliteStore(db);
  await store.registry.addDevice('gw-1', 'default', cert('s-1'));
  const other = spawn(
    process.execPath,
    [
      '-e',
      `const db = new (require('better-sqlite3'))(${JSON.stringify(file)});
       db.exec('BEGIN IMMEDIATE');
       db.prepare("UPDATE devices SET last_seen = 1 WHERE id = 'gw-1'").run();
       console.log('locked');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
       db.exec('COMMIT');`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await once(other.stdout, 'data');
  const renewed = await store.registry.renew('gw-1', { cert: cert('s-2'), revokeOld: true });
  assert.equal(renewed.revokedSerials, ['s-1']);
  assert.equal((await once(other, 'exit'))[0], 0);
  await store.close();
});

test.run();
