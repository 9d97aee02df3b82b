// The fleet store contracts on a real PostgreSQL (started here from Debian's packages, a fresh database per test),
// then what only PostgreSQL has: nodes migrating at once, a schema newer than the build, refused connections and
// passwords, which never appear in an error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPgPool, createPostgresStore, openStore } from '../../broker/src/store/index.js';
import { pgMigrations } from '../../broker/src/store/postgres/migrations.js';
import { fleetStoreContract } from '../contract/fleet-store.contract.js';
import { updateChannelContract } from '../contract/fleet-store-updates.contract.js';
import { operatorAccessContract } from '../contract/fleet-store-operators.contract.js';
import { fleetAuditContract } from '../contract/fleet-store-audit.contract.js';
import { freePort } from '../helpers/mosquitto.js';
import { havePeers } from '../helpers/peers.js';
import { POSTGRES_INSTALL, type RunningPostgres, startPostgres } from '../helpers/postgres.js';

if (havePeers(['initdb', 'postgres'], POSTGRES_INSTALL)) {
  const server: RunningPostgres = await startPostgres();
  process.once('beforeExit', () => void server.stop());

  const make = async () => {
    const url = await server.createDatabase();
    const pool = createPgPool(url, { max: 4 });
    const store = createPostgresStore(pool);
    await store.migrate();
    return { store, exec: (sql: string) => pool.query('exec', sql) };
  };
  fleetStoreContract('postgres', make);
  updateChannelContract('postgres', make);
  fleetAuditContract('postgres', make);
  // Two pools on one database, as two nodes hold.
  operatorAccessContract('postgres', async () => {
    const url = await server.createDatabase();
    const a = createPostgresStore(createPgPool(url, { max: 4 }));
    await a.migrate();
    return { a, b: createPostgresStore(createPgPool(url, { max: 4 })) };
  });

  const codeOf = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      assert.not.match((err as Error).message, new RegExp(server.password));
      assert.not.match(String((err as Error).stack), new RegExp(server.password));
      return (err as { code?: string }).code;
    }
    return 'resolved';
  };

  test('four nodes migrating one database at once apply each migration once', async () => {
    const url = await server.createDatabase();
    const stores = await Promise.all([1, 2, 3, 4].map(() => openStore(url)));
    const latest = pgMigrations.at(-1)!.version;
    assert.equal(await Promise.all(stores.map((s) => s.schemaVersion())), [latest, latest, latest, latest]);
    const pool = createPgPool(url, { max: 1 });
    const rows = await pool.query('check', 'SELECT version FROM schema_migrations ORDER BY version');
    assert.equal(
      rows.rows,
      pgMigrations.map((m) => ({ version: m.version })),
    );
    // A schema from a newer build is refused, not used.
    await pool.query('check', `INSERT INTO schema_migrations VALUES (99, 'from the future', 0)`);
    assert.is(await codeOf(openStore(url)), 'FLEET_DB_MIGRATION');
    await pool.end();
    for (const s of stores) await s.close();
  });

  test('refused connections and wrong passwords are typed errors without the password', async () => {
    const wrong = server.url('postgres').replace(encodeURIComponent(server.password), 'not-the-password');
    assert.is(await codeOf(openStore(wrong)), 'FLEET_STORE_AUTH');
    const nobody = `postgres://postgres:${encodeURIComponent(server.password)}@127.0.0.1:${await freePort()}/x`;
    assert.is(await codeOf(openStore(nobody)), 'FLEET_STORE_UNREACHABLE');
    assert.is(await codeOf(openStore(`mysql://root:${server.password}@127.0.0.1/x`)), 'FLEET_STORE_URL');
  });

  test('a statement past the statement timeout is cancelled with FLEET_STORE_TIMEOUT; the pool goes on', async () => {
    const pool = createPgPool(await server.createDatabase(), { max: 1, statementTimeoutMs: 100 });
    assert.is(await codeOf(pool.query('sleep', 'SELECT pg_sleep(5)')), 'FLEET_STORE_TIMEOUT');
    assert.equal((await pool.query('after', 'SELECT 1 AS one')).rows, [{ one: 1 }]);
    await pool.end();
  });

  test.after(() => server.stop());
  test.run();
}
