// Retention on a real SQLite file, through the ingest store: telemetry past retention is deleted in batches, oldest
// first, with its keys; afterwards a new sample is stored and a duplicate is not — a duplicate of a retained sample
// by its key, a resend of a pruned one by its stream's floor, also from a reopened store. Exposure reports beyond the
// newest N per device go with their findings. A failed retention transaction deletes and forgets nothing.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDb, type Db } from '../../broker/src/db/open.js';
import { createIngest } from '../../broker/src/fleet/ingest.js';
import { DUPLICATE } from '../../broker/src/fleet/ingest-result.js';
import { PRUNE_REPORTS, PRUNE_SAMPLES, type Retention } from '../../broker/src/fleet/ingest-retention.js';
import { createIngestStore, type StoreItem } from '../../broker/src/fleet/ingest-store.js';
import type { ExposureReport } from '../../shared/src/index.js';
import { testLogger, waitFor } from '../helpers/fleet.js';
import { tmpDir } from '../helpers/tmp.js';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;
const KEEP_A_DAY: Retention = { telemetryDays: 1, reportsPerDevice: null };

function freshDb(): Db {
  const db = openDb(join(tmpDir('edgeward-retention-'), 'fleet.db'));
  for (const id of ['gw-a01', 'gw-b02'])
    db.prepare(`INSERT INTO devices (id, status, created_at) VALUES (?, 'active', 0)`).run(id);
  return db;
}

/** One telemetry message carrying the given seqs, received at `receivedAt`. */
const samples = (deviceId: string, seqs: number[], receivedAt: number, stream = 'stream-0001'): StoreItem => ({
  kind: 'message',
  deviceId,
  receivedAt,
  decoded: {
    kind: 'telemetry',
    message: {
      v: 1,
      id: `msg-${deviceId}-${seqs[0]}`,
      ts: 0,
      stream,
      samples: seqs.map((seq) => ({ seq, ts: seq, m: { t: seq } })),
    },
  },
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const count = (db: Db, sql: string) => db.prepare(sql).pluck().get() as number;
const seqsOf = (db: Db, deviceId: string) =>
  db.prepare('SELECT seq FROM telemetry WHERE device_id = ? ORDER BY seq').pluck().all(deviceId) as number[];

/** 1,250 samples per device received ten days ago, then seqs 1251–1260 of gw-a01 received now; all keyed. */
function populated(retention: Retention = KEEP_A_DAY) {
  const db = freshDb();
  const store = createIngestStore(db, retention);
  for (let from = 1; from <= 1250; from += 250) {
    const old = NOW - 10 * DAY;
    store.writeBatch(
      [samples('gw-a01', range(from, from + 249), old), samples('gw-b02', range(from, from + 249), old)],
      old,
    );
  }
  store.writeBatch([samples('gw-a01', range(1251, 1260), NOW)], NOW); // its transaction keys every row
  return { db, store };
}

test('rows past retention go in batches of PRUNE_SAMPLES, oldest first, with their keys; newer rows stay', () => {
  const { db, store } = populated();
  assert.is(count(db, 'SELECT count(*) FROM telemetry_keys'), 2510, 'all rows keyed');
  const deleted: number[] = [];
  for (let more = true; more; ) {
    const p = store.prune(NOW);
    deleted.push(p.samples);
    more = p.more;
  }
  assert.equal(deleted, [PRUNE_SAMPLES, PRUNE_SAMPLES, 500]);
  assert.equal(seqsOf(db, 'gw-a01'), range(1251, 1260));
  assert.equal(seqsOf(db, 'gw-b02'), []);
  assert.equal(
    db.prepare(`SELECT seq FROM telemetry_keys ORDER BY seq`).pluck().all(),
    range(1251, 1260),
    'no key outlives its row',
  );
  // One number per stream stands for every key deleted.
  assert.equal(db.prepare('SELECT device_id, through_seq FROM telemetry_pruned ORDER BY device_id').raw().all(), [
    ['gw-a01', 1250],
    ['gw-b02', 1250],
  ]);
  assert.equal(store.prune(NOW), { samples: 0, reports: 0, more: false }, 'nothing more is due');
  db.close();
});

test('after pruning: new samples stored, duplicates not (retained: by key, pruned: by the floor), reopened too', () => {
  const { db, store } = populated();
  while (store.prune(NOW).more);
  for (const s of [store, createIngestStore(db, KEEP_A_DAY)]) {
    assert.equal(s.writeBatch([samples('gw-a01', [1255], NOW)], NOW), [DUPLICATE], 'a retained sample');
    assert.equal(s.writeBatch([samples('gw-a01', [7, 1250], NOW)], NOW), [DUPLICATE], 'pruned samples');
    assert.equal(s.writeBatch([samples('gw-b02', [1250], NOW)], NOW), [DUPLICATE], 'a stream with no row left');
  }
  const reopened = createIngestStore(db, KEEP_A_DAY);
  assert.equal(reopened.writeBatch([samples('gw-b02', [1251, 1252], NOW)], NOW), [2], 'new samples of that stream');
  assert.equal(reopened.writeBatch([samples('gw-a01', [1261], NOW)], NOW), [1]);
  assert.equal(reopened.writeBatch([samples('gw-a01', [1], NOW, 'stream-0002')], NOW), [1], 'another stream: its own');
  assert.equal(seqsOf(db, 'gw-b02'), [1251, 1252]);
  db.close();
});

test('the newest row of the table is never pruned, so row ids are never handed out again', () => {
  const db = freshDb();
  const store = createIngestStore(db, KEEP_A_DAY);
  const old = NOW - 10 * DAY;
  store.writeBatch([samples('gw-a01', [1, 2, 3], old)], old);
  store.writeBatch([samples('gw-a01', [4], old + 1000)], old + 1000); // keys 1–4
  while (store.prune(NOW).more);
  assert.equal(db.prepare('SELECT id, seq FROM telemetry').raw().all(), [[4, 4]]);
  assert.equal(store.writeBatch([samples('gw-a01', [5], NOW)], NOW), [1]);
  assert.is(count(db, `SELECT id FROM telemetry WHERE seq = 5`), 5);
  assert.equal(store.writeBatch([samples('gw-a01', [4, 5], NOW + 1)], NOW + 1), [DUPLICATE]);
  db.close();
});

const report = (deviceId: string, n: number, findings: number): ExposureReport => ({
  v: 1,
  id: `exp-${deviceId}-${String(n).padStart(4, '0')}`,
  ts: n,
  deviceId,
  scoringVersion: 1,
  score: n % 100,
  grade: 'B',
  categories: { transport: 100, authentication: 100, exposure: 100, configuration: 100, ai: null },
  scan: { target: 'local', durationMs: 5, timedOut: false, credentialChecks: false, truncated: false },
  services: [],
  findings: Array.from({ length: findings }, (_, i) => ({
    check: 'mqtt.anonymous',
    severity: 'high' as const,
    category: 'authentication' as const,
    port: 1883 + i,
    transport: 'tcp' as const,
    title: 'anonymous MQTT',
    evidence: 'CONNACK 0 without credentials',
    remediation: 'require client certificates',
    references: [],
  })),
});
const reportItem = (deviceId: string, n: number): StoreItem => ({
  kind: 'message',
  deviceId,
  receivedAt: NOW + n,
  decoded: { kind: 'exposure', message: report(deviceId, n, 2) },
});

test('exposure reports beyond the newest N per device go with their findings: those from before start too', () => {
  const db = freshDb();
  const keepAll = createIngestStore(db);
  for (let n = 1; n <= 150; n++) keepAll.writeBatch([reportItem('gw-a01', n), reportItem('gw-b02', n)], NOW + n);
  // A limit set later: the first passes sweep every device, a batch at a time.
  const store = createIngestStore(db, { telemetryDays: null, reportsPerDevice: 3 });
  const deleted: number[] = [];
  for (let more = true; more; ) {
    const p = store.prune(NOW + 1000);
    deleted.push(p.reports);
    more = p.more;
  }
  assert.is(
    deleted.reduce((a, b) => a + b, 0),
    2 * 147,
  );
  assert.ok(Math.max(...deleted) <= PRUNE_REPORTS);
  const kept = (id: string) =>
    db.prepare('SELECT msg_id FROM exposure_reports WHERE device_id = ? ORDER BY id').pluck().all(id);
  assert.equal(kept('gw-a01'), ['exp-gw-a01-0148', 'exp-gw-a01-0149', 'exp-gw-a01-0150']);
  assert.is(count(db, 'SELECT count(*) FROM exposure_findings'), 2 * 3 * 2);
  // A new report: the oldest of that device's goes at the next pass, and only that.
  store.writeBatch([reportItem('gw-a01', 151)], NOW + 2000);
  assert.equal(store.prune(NOW + 2000), { samples: 0, reports: 1, more: false });
  assert.equal(kept('gw-a01'), ['exp-gw-a01-0149', 'exp-gw-a01-0150', 'exp-gw-a01-0151']);
  assert.is(count(db, `SELECT exposure_score FROM devices WHERE id = 'gw-a01'`), 51, 'the latest score stands');
  db.close();
});

test('a failed retention transaction deletes nothing, and the store forgets nothing', () => {
  const { db, store } = populated();
  db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON telemetry_pruned BEGIN SELECT RAISE(ABORT, 'refused'); END`);
  assert.throws(() => store.prune(NOW), /refused/);
  assert.is(count(db, 'SELECT count(*) FROM telemetry'), 2510);
  assert.is(count(db, 'SELECT count(*) FROM telemetry_keys'), 2510);
  assert.is(db.pragma('synchronous', { simple: true }), 2, 'FULL again after the retention transaction');
  db.exec('DROP TRIGGER refuse');
  assert.equal(store.writeBatch([samples('gw-a01', [5, 1260], NOW)], NOW), [DUPLICATE]);
  assert.is(store.prune(NOW).samples, PRUNE_SAMPLES);
  db.close();
});

test('on the ingest thread: retention runs in its idle time, and ingest counts what it deleted', async () => {
  const file = join(tmpDir('edgeward-retention-'), 'fleet.db');
  const db = openDb(file);
  db.prepare(`INSERT INTO devices (id, status, created_at) VALUES ('gw-a01', 'active', 0)`).run();
  const old = Date.now() - 10 * DAY;
  const setup = createIngestStore(db);
  setup.writeBatch([samples('gw-a01', range(1, 1500), old)], old);
  setup.writeBatch([samples('gw-a01', [1501], Date.now())], Date.now());
  const ingest = createIngest(db, { log: testLogger(), thread: { file }, retention: KEEP_A_DAY });
  await waitFor(() => ingest.stats().prunedSamples === 1500, 'retention on the thread', 15_000);
  assert.equal(seqsOf(db, 'gw-a01'), [1501]);
  await ingest.close();
  db.close();
});

test.run();
