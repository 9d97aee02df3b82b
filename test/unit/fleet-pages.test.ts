// The fleet-wide reads on a real SQLite file: every device's telemetry and exposure reports received in a time
// range (arrival order, each row once, from inclusive and to exclusive, a device-limited caller's short pages),
// the event log since a time, and a command's acknowledgements (its own device's only).
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../shared/src/index.js';
import { createAdminService } from '../../broker/src/admin/local.js';
import { createCommandStore } from '../../broker/src/db/commands.js';
import { ARRIVAL_PAGE_SCAN_ROWS } from '../../broker/src/db/arrival-order.js';
import { createReceivedReports } from '../../broker/src/db/exposure-pages.js';
import { type Db, openDb } from '../../broker/src/db/open.js';
import { createTelemetryReader } from '../../broker/src/db/telemetry.js';
import { tmpDir } from '../helpers/tmp.js';

const T0 = Date.UTC(2025, 0, 1);
const S = 1000;

const freshDb = (): Db => openDb(join(tmpDir('edgeward-fleet-pages-'), 'fleet.db'));

/** Every page from the first, following `last`, at most `max` pages. */
function allPages<T>(page: (after?: number) => { items: T[]; last: number | null }, max = 1000) {
  const pages: T[][] = [];
  let after: number | undefined;
  for (let n = 0; n < max; n++) {
    const p = page(after);
    pages.push(p.items);
    if (p.last === null) return pages;
    after = p.last;
  }
  throw new Error(`more than ${max} pages`);
}

const insertSample = (db: Db) =>
  db.prepare(
    `INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics)
       VALUES (?, 's', ?, ?, ?, '{"v":1}')`,
  );

test('fleet telemetry: every device in arrival order, each sample once, from inclusive and to exclusive', () => {
  const db = freshDb();
  const reader = createTelemetryReader(db);
  assert.equal(reader.fleetPage({ limit: 10, devices: null }), { items: [], last: null });
  const insert = insertSample(db);
  for (let i = 1; i <= 30; i++) for (const d of ['gw-a', 'gw-b', 'gw-c']) insert.run(d, i, T0 + i * S - 7, T0 + i * S);
  const pages = allPages((after) => reader.fleetPage({ limit: 7, devices: null, ...(after ? { after } : {}) }));
  const rows = pages.flat();
  assert.is(rows.length, 90);
  assert.ok(
    pages.slice(0, -1).every((p) => p.length === 7),
    'full pages until the last',
  );
  assert.equal(
    rows.slice(0, 4).map((r) => `${r.deviceId}/${r.seq}`),
    ['gw-a/1', 'gw-b/1', 'gw-c/1', 'gw-a/2'],
  );
  assert.equal(rows[0], {
    deviceId: 'gw-a',
    ts: new Date(T0 + S - 7).toISOString(),
    receivedAt: new Date(T0 + S).toISOString(),
    stream: 's',
    seq: 1,
    metrics: { v: 1 },
  });
  const ranged = allPages((after) =>
    reader.fleetPage({ limit: 4, devices: null, from: T0 + 10 * S, to: T0 + 12 * S, ...(after ? { after } : {}) }),
  ).flat();
  assert.equal(
    ranged.map((r) => `${r.deviceId}/${r.seq}`),
    ['gw-a/10', 'gw-b/10', 'gw-c/10', 'gw-a/11', 'gw-b/11', 'gw-c/11'],
  );
  db.close();
});

test('fleet telemetry: a row stamped later than the one after it is still in its range', () => {
  const db = freshDb();
  const insert = insertSample(db);
  // Committed in this order by two connections, each stamping its row before its commit.
  insert.run('gw-a', 1, T0, T0 + 1004);
  insert.run('gw-b', 1, T0, T0 + 1001);
  insert.run('gw-c', 1, T0, T0 + 1005);
  const rows = createTelemetryReader(db).fleetPage({ limit: 100, devices: null, from: T0 + 1003 }).items;
  assert.equal(
    rows.map((r) => r.deviceId),
    ['gw-a', 'gw-c'],
  );
  db.close();
});

test("one device's telemetry: a row stamped later than the one after it is still in its range ", () => {
  const db = freshDb();
  const insert = insertSample(db);
  // Committed in this order by two connections, each stamping its row before its commit.
  insert.run('gw-a', 1, T0, T0 + 1004);
  insert.run('gw-a', 2, T0, T0 + 1001);
  insert.run('gw-a', 3, T0, T0 + 1005);
  const rows = createTelemetryReader(db).page({ deviceId: 'gw-a', limit: 100, from: T0 + 1003 }).items;
  assert.equal(
    rows.map((r) => r.seq),
    [1, 3],
  );
  db.close();
});

test('fleet telemetry for a device-limited caller: only its devices, short pages, and the cursor goes on', () => {
  const db = freshDb();
  const insert = insertSample(db);
  const n = Math.ceil((ARRIVAL_PAGE_SCAN_ROWS * 2.5) / 2);
  db.transaction(() => {
    for (let i = 1; i <= n; i++) {
      insert.run('gw-a', i, T0 + i, T0 + i);
      insert.run(i % 1000 === 0 ? 'gw-mine' : 'gw-b', i, T0 + i, T0 + i);
    }
  })();
  const reader = createTelemetryReader(db);
  const pages = allPages((after) =>
    reader.fleetPage({ limit: 1000, devices: ['gw-mine'], ...(after ? { after } : {}) }),
  );
  assert.ok(pages.length >= 3, `${pages.length} pages`);
  assert.ok(
    pages.some((p) => p.length < 1000 && p.length > 0),
    'a short page before the end',
  );
  const rows = pages.flat();
  assert.is(rows.length, Math.floor(n / 1000));
  assert.ok(rows.every((r) => r.deviceId === 'gw-mine'));
  assert.equal(
    rows.map((r) => r.seq),
    rows.map((_, i) => (i + 1) * 1000),
  );
  db.close();
});

test("received reports: summaries in arrival order, in range, limited to the caller's devices", () => {
  const db = freshDb();
  const insert = db.prepare(
    `INSERT INTO exposure_reports (device_id, msg_id, device_ts, received_at, scoring_version, score, grade,
       categories, services, findings, report) VALUES (?, ?, ?, ?, 1, ?, 'B', '{}', 0, 2, '{}')`,
  );
  for (let i = 1; i <= 20; i++) insert.run(i % 2 ? 'gw-a' : 'gw-b', `m-${i}`, T0 + i * S - 5, T0 + i * S, 60 + i);
  const received = createReceivedReports(db);
  const all = allPages((after) => received({ limit: 3, devices: null, ...(after ? { after } : {}) })).flat();
  assert.is(all.length, 20);
  assert.equal(all[0], {
    deviceId: 'gw-a',
    at: new Date(T0 + S).toISOString(),
    deviceTs: new Date(T0 + S - 5).toISOString(),
    score: 61,
    grade: 'B',
    findings: 2,
  });
  const since = received({ limit: 100, devices: null, from: T0 + 15 * S });
  assert.equal(
    since.items.map((r) => r.score),
    [75, 76, 77, 78, 79, 80],
  );
  assert.is(since.last, null);
  const mine = received({ limit: 100, devices: ['gw-b'], to: T0 + 7 * S });
  assert.equal(
    mine.items.map((r) => r.score),
    [62, 64, 66],
  );
  assert.ok(ARRIVAL_PAGE_SCAN_ROWS > 20);
  db.close();
});

test('the event log since a time: only events recorded at or after it, newest first, pages included', async () => {
  const db = freshDb();
  let now = T0;
  const admin = createAdminService({ db, loadCa: () => Promise.reject(new Error('no CA')), now: () => now });
  const host = admin.forCaller({ actor: 'test', devices: null });
  const insert = db.prepare(`INSERT INTO audit (at, event, device_id, detail) VALUES (?, ?, ?, ?)`);
  for (let i = 1; i <= 30; i++) insert.run(T0 + i * S, 'acl.denied', i % 3 ? 'gw-a' : 'gw-b', `{"n":${i}}`);
  insert.run(T0 + 24 * S + 500, 'acl.denied', 'gw-a', '{"n":"late"}'); // stamped before the row above it
  now = T0 + 31 * S;
  const page = await host.events({ since: new Date(T0 + 25 * S).toISOString(), limit: 4 });
  assert.equal(
    page.items.map((e) => (e.detail as { n: number }).n),
    [30, 29, 28, 27],
  );
  assert.ok(page.next);
  const rest = await host.events({ since: new Date(T0 + 25 * S).toISOString(), limit: 4, cursor: page.next! });
  assert.equal(
    rest.items.map((e) => (e.detail as { n: number }).n),
    [26, 25],
  );
  assert.is(rest.next, null);
  // A cursor the log did not give is a usage error (on PostgreSQL it would reach the query), as on the other lists.
  for (const cursor of ['abc', '-1', '1e3', '9'.repeat(16)]) {
    for (const read of [() => host.events({ cursor }), () => host.auditTrail({ cursor })]) {
      const err = await read().then(
        () => assert.unreachable(cursor) as never,
        (e: Error) => e,
      );
      assert.instance(err, UsageError, cursor);
      assert.match(err.message, /the cursor is not one this list gave/);
    }
  }
  const late = await host.events({ since: new Date(T0 + 24 * S + 100).toISOString(), limit: 100 });
  assert.ok(late.items.some((e) => (e.detail as { n: string }).n === 'late'));
  const b = await host.events({ since: new Date(T0 + 20 * S).toISOString(), deviceId: 'gw-b', limit: 100 });
  assert.equal(
    b.items.map((e) => (e.detail as { n: number }).n),
    [30, 27, 24, 21],
  );
  const limited = admin.forCaller({ actor: 'test', devices: ['gw-b'] });
  const seen = await limited.events({ since: new Date(T0 + 20 * S).toISOString(), limit: 100 });
  assert.ok(seen.items.every((e) => e.deviceId === 'gw-b'));
  db.close();
});

test("a command's acknowledgements: its own device's only, oldest first, a page at a time", async () => {
  const db = freshDb();
  for (const id of ['gw-a', 'gw-b'])
    db.prepare(`INSERT INTO devices (id, device_type, status, created_at) VALUES (?, 'default', 'active', ?)`).run(
      id,
      T0,
    );
  const store = createCommandStore(db);
  store.add({
    id: 'cmd-0000000000000001',
    deviceId: 'gw-a',
    command: 'scan-now',
    params: {},
    operator: '0123456789abcdef',
    counter: 1,
    envelope: Buffer.from('x'),
    createdAt: T0,
    expiresAt: T0 + 3_600_000,
  });
  const ack = (status: 'accepted' | 'done' | 'rejected', i: number, reason?: 'replay') => ({
    v: 1 as const,
    id: `ack-000000000000000${i}`,
    ts: T0 + i,
    cmdId: 'cmd-0000000000000001',
    status,
    ...(reason ? { reason } : {}),
  });
  store.applyAck('gw-a', ack('accepted', 1), T0 + 10);
  store.applyAck('gw-b', ack('rejected', 2, 'replay'), T0 + 20); // another device naming the command
  store.applyAck('gw-a', ack('done', 3), T0 + 30);
  store.applyAck('gw-a', ack('rejected', 4, 'replay'), T0 + 40);
  const admin = createAdminService({ db, loadCa: () => Promise.reject(new Error('no CA')) });
  const host = admin.forCaller({ actor: 'test', devices: null });
  const first = await host.commands.acks('cmd-0000000000000001', { limit: 2 });
  assert.equal(first.items, [
    {
      status: 'accepted',
      reason: null,
      detail: null,
      deviceTs: new Date(T0 + 1).toISOString(),
      receivedAt: new Date(T0 + 10).toISOString(),
    },
    {
      status: 'done',
      reason: null,
      detail: null,
      deviceTs: new Date(T0 + 3).toISOString(),
      receivedAt: new Date(T0 + 30).toISOString(),
    },
  ]);
  const rest = await host.commands.acks('cmd-0000000000000001', { limit: 2, cursor: first.next! });
  assert.equal(
    rest.items.map((a) => `${a.status}:${a.reason}`),
    ['rejected:replay'],
  );
  assert.is(rest.next, null);
  const other = admin.forCaller({ actor: 'test', devices: ['gw-b'] });
  try {
    await other.commands.acks('cmd-0000000000000001');
    assert.unreachable('a caller limited to gw-b sees no command of gw-a');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'FLEET_COMMAND_UNKNOWN');
  }
  db.close();
});

test.run();
