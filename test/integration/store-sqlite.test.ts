// The fleet store contract on SQLite (a fresh fleet database per test), and openStore's sqlite: URLs.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDb } from '../../broker/src/db/open.js';
import { initPki } from '../../broker/src/fleet/data-dir.js';
import { createSqliteStore, openStore, parseStoreUrl } from '../../broker/src/store/index.js';
import { cert, fleetStoreContract } from '../contract/fleet-store.contract.js';
import { tmpDir } from '../helpers/tmp.js';

fleetStoreContract('sqlite', async () => {
  const db = openDb(join(tmpDir('edgeward-store-'), 'fleet.db'));
  return { store: createSqliteStore(db), exec: async (sql: string) => db.exec(sql) };
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

test.run();
