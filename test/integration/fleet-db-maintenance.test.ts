// `fleet db stats` and `fleet db vacuum` through the real CLI. stats: rows and bytes per table, free pages, the WAL,
// the telemetry's span and the retention of --config, in text and JSON, also while the server runs. vacuum: gives the
// free pages back with every row kept; refused while a server holds the folder, while another process has the
// database open, and on a disk without room for it — each time leaving the database as it was.
import Database from 'better-sqlite3';
import { cpSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFleetConfig } from '../../broker/src/config.js';
import { migrations } from '../../broker/src/db/migrations.js';
import { createFleetServer } from '../../broker/src/server.js';
import { copyDataDir, populatedFleet } from '../helpers/broken-db.js';
import { testLogger } from '../helpers/fleet.js';
import { mountTmpfs, unmountAll } from '../helpers/mounts.js';
import { fleetCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

let dataDir: string;
/** When the first and the last populated sample arrived. */
let span: [number, number];
/** Retention off: what the tests count stays as populated. */
const serve = (dir: string) =>
  createFleetServer({
    dataDir: dir,
    mqttPort: 0,
    httpPort: 0,
    downloadPort: 0,
    log: testLogger(),
    config: parseFleetConfig({ retention: { telemetryDays: null, reportsPerDevice: null } }),
  });

test.before(async () => {
  const fleet = await populatedFleet(['gw-001', 'gw-002'], 3000);
  dataDir = fleet.dataDir;
  span = fleet.db.prepare('SELECT min(received_at), max(received_at) FROM telemetry').raw().get() as [number, number];
  await fleet.close();
});
test.after(() => unmountAll());

/** A copy of the populated folder where half the telemetry was deleted: its pages are free inside the file. */
function withFreePages(): { dir: string; file: string } {
  const dir = copyDataDir(dataDir);
  const file = join(dir, 'fleet.db');
  const db = new Database(file);
  db.exec(`DELETE FROM telemetry WHERE device_id = 'gw-002'; DELETE FROM telemetry_keys WHERE device_id = 'gw-002'`);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { dir, file };
}

const rows = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM telemetry').pluck().get() as number;
  } finally {
    db.close();
  }
};

test('stats: rows and bytes per table, free pages, the WAL, the telemetry span, retention from --config', async () => {
  const { dir, file } = withFreePages();
  const config = join(tmpDir('edgeward-stats-'), 'fleet.json');
  writeFileSync(config, JSON.stringify({ retention: { telemetryDays: 30, reportsPerDevice: null } }));
  const j = await fleetCli(['db', 'stats', '--data', dir, '--config', config, '--json']);
  assert.is(j.code, 0, j.output);
  const s = JSON.parse(j.stdout);
  assert.is(s.file, file);
  assert.is(s.fileBytes, statSync(file).size);
  assert.ok(s.freeBytes > 100 * 1024, `free pages after the delete: ${s.freeBytes}`);
  const telemetry = s.tables.find((t: { name: string }) => t.name === 'telemetry');
  assert.is(telemetry.rows, 3000);
  assert.ok(telemetry.bytes > 3000 * 30, `telemetry bytes: ${telemetry.bytes}`);
  assert.equal(
    s.tables.find((t: { name: string }) => t.name === 'devices'),
    { name: 'devices', rows: 2, bytes: 8192 },
  );
  assert.equal(s.telemetry, {
    samples: 3000,
    oldestReceivedAt: new Date(span[0]).toISOString(),
    newestReceivedAt: new Date(span[1]).toISOString(),
    prunedStreams: 0,
  });
  assert.equal(s.retention, { telemetryDays: 30, reportsPerDevice: null, source: config });
  const text = await fleetCli(['db', 'stats', '--data', dir]);
  assert.is(text.code, 0, text.output);
  const iso = span.map((ms) => new Date(ms).toISOString());
  assert.ok(text.stdout.includes(`3000 samples, received ${iso[0]} … ${iso[1]}`), text.stdout);
  assert.match(text.stdout, /free \(reused by new rows; `fleet db vacuum` gives it back to the disk\)/);
  assert.match(text.stdout, /retention +telemetry 90 days, exposure reports 100 per device \(the defaults/);
  assert.match(text.stdout, /^telemetry +3000 +\d+\.\d KiB$/m);
});

test('stats while the server runs: the same figures', async () => {
  const dir = copyDataDir(dataDir);
  const server = await serve(dir);
  try {
    const r = await fleetCli(['db', 'stats', '--data', dir, '--json']);
    assert.is(r.code, 0, r.output);
    const s = JSON.parse(r.stdout);
    assert.is(s.telemetry.samples, 6000);
    assert.type(s.walBytes, 'number');
  } finally {
    await server.close();
  }
});

test('vacuum: the free pages go back to the disk, every row and the schema version stay', async () => {
  const { dir, file } = withFreePages();
  const before = statSync(file).size;
  const r = await fleetCli(['db', 'vacuum', '--data', dir, '--json']);
  assert.is(r.code, 0, r.output);
  const v = JSON.parse(r.stdout);
  assert.equal(v, { file, beforeBytes: before, afterBytes: statSync(file).size });
  assert.ok(v.afterBytes < before * 0.75, `${before} → ${v.afterBytes}`);
  assert.is(rows(file), 3000);
  const check = await fleetCli(['db', 'check', '--data', dir]);
  assert.is(check.code, 0, check.output);
  const db = new Database(file, { readonly: true });
  assert.is(db.pragma('freelist_count', { simple: true }), 0);
  assert.is(db.pragma('user_version', { simple: true }), migrations.at(-1)!.version);
  db.close();
  // The folder's lock is released: a server starts on it.
  await (await serve(dir)).close();
});

test('vacuum while the server runs: FLEET_DATA_IN_USE, stop it first; the database untouched', async () => {
  const { dir, file } = withFreePages();
  const server = await serve(dir);
  try {
    const r = await fleetCli(['db', 'vacuum', '--data', dir]);
    assert.is(r.code, 1, r.output);
    assert.match(r.stderr, /^error FLEET_DATA_IN_USE: a fleet server is running on .*: stop it, run `fleet db vacuum`/);
  } finally {
    await server.close();
  }
  assert.is(rows(file), 3000);
});

test('vacuum while another process has the database open: FLEET_DATA_IN_USE, let it finish', async () => {
  const { dir, file } = withFreePages();
  const other = new Database(file);
  other.prepare('SELECT count(*) FROM devices').get();
  try {
    const r = await fleetCli(['db', 'vacuum', '--data', dir]);
    assert.is(r.code, 1, r.output);
    assert.match(r.stderr, /^error FLEET_DATA_IN_USE: another process has .*fleet\.db open .*let it finish/m);
    assert.is(other.prepare('SELECT count(*) FROM telemetry').pluck().get(), 3000);
  } finally {
    other.close();
  }
});

test('vacuum on a disk without room for the copy: FLEET_DB_FULL before it starts; the database untouched', async () => {
  const m = mountTmpfs('size=2m');
  if ('skip' in m) {
    console.log(`SKIP vacuum on a small disk: ${m.skip}`);
    return;
  }
  const dir = join(m.dir, 'data');
  cpSync(dataDir, dir, { recursive: true }); // ~1 MiB of pages in use: twice that does not fit
  const file = join(dir, 'fleet.db');
  const r = await fleetCli(['db', 'vacuum', '--data', dir]);
  assert.is(r.code, 1, r.output);
  assert.match(r.stderr, /^error FLEET_DB_FULL: vacuuming .* needs about [\d.]+ MiB free on its disk/m);
  assert.is(rows(file), 6000);
});

test.run();
