// Posture history (db/posture-snapshots.ts, db/posture-history.ts): snapshots computed from known reports on a real
// database file (each active device by its latest report as of the period's end, a silent one still counted, a
// revoked one left out from its revocation on), the catch-up's bounds, pruning and idempotence, and the live period.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sampleReport } from '../../agent/src/scan/index.js';
import { createExposureStore } from '../../broker/src/db/exposure.js';
import { type Db, openDb } from '../../broker/src/db/open.js';
import { createPostureHistory } from '../../broker/src/db/posture-history.js';
import { createPostureSnapshotter } from '../../broker/src/db/posture-snapshots.js';
import { createSqliteStore } from '../../broker/src/store/sqlite-store.js';
import { posturePeriodsOption } from '../../broker/src/cli/posture-history.js';
import type { Grade } from '../../shared/src/index.js';
import { tmpDir } from '../helpers/tmp.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2025, 5, 1); // day 0, a Sunday at midnight UTC
const NOW = T0 + 3 * DAY + 10.5 * HOUR; // day 3, 10:30
const iso = (t: number) => new Date(t).toISOString();
const noGrades = { A: 0, B: 0, C: 0, D: 0, F: 0 };

/** A report of the device received at `at`, with one finding per check id given (a repeat: another port). */
function report(db: Db, deviceId: string, at: number, score: number, grade: Grade, checks: string[]): void {
  const base = sampleReport(deviceId, () => 0.5);
  const template = base.findings[0]!;
  const findings = checks.map((check, i) => ({ ...template, check, port: 1000 + i }));
  createExposureStore(db).add(deviceId, { ...base, score, grade, findings }, at);
}

/**
 * Five devices over four days: gw-1 falls from A to C on day 1 (two reports that day, the later counts), gw-2
 * reports from day 1 on, gw-3 reports on day 0 only, gw-4 reports on day 0 and is revoked on day 2 at noon, gw-5
 * never reports.
 */
function fleetDb(): Db {
  const db = openDb(join(tmpDir('edgeward-posture-'), 'fleet.db'));
  const add = db.prepare(`INSERT INTO devices (id, status, created_at) VALUES (?, 'active', ?)`);
  for (const id of ['gw-1', 'gw-2', 'gw-3', 'gw-4', 'gw-5']) add.run(id, T0 - DAY);
  report(db, 'gw-1', T0 + 1 * HOUR, 95, 'A', ['mqtt.anonymous']);
  report(db, 'gw-3', T0 + 2 * HOUR, 40, 'F', ['mqtt.anonymous', 'telnet.open', 'telnet.open']);
  report(db, 'gw-4', T0 + 3 * HOUR, 100, 'A', []);
  report(db, 'gw-1', T0 + DAY + 1 * HOUR, 72, 'C', ['http.security-headers']);
  report(db, 'gw-2', T0 + DAY + 5 * HOUR, 85, 'B', ['mqtt.anonymous']);
  report(db, 'gw-1', T0 + DAY + 20 * HOUR, 75, 'C', ['http.security-headers']);
  report(db, 'gw-2', T0 + 2 * DAY + 1 * HOUR, 88, 'B', []);
  db.prepare(`UPDATE devices SET status = 'revoked', revoked_at = ? WHERE id = 'gw-4'`).run(T0 + 2 * DAY + 12 * HOUR);
  return db;
}

const postureOf = (db: Db) => createSqliteStore(db).posture;

const rows = (db: Db, resolution: string) =>
  db.prepare('SELECT * FROM posture_snapshots WHERE resolution = ? ORDER BY start').all(resolution) as {
    start: number;
    devices: number;
    reporting: number;
    average_score: number | null;
    grades: string;
    scores: string;
    checks: string;
    computed_at: number;
  }[];

/** Eleven buckets with the given counts (bucket index → count). */
const buckets = (counts: Record<number, number>) => Array.from({ length: 11 }, (_, i) => counts[i] ?? 0);

const DAY0 = {
  start: iso(T0),
  devices: 3,
  reporting: 3,
  averageScore: 78.3,
  grades: { ...noGrades, A: 2, F: 1 },
  scores: buckets({ 4: 1, 9: 1, 10: 1 }),
  checks: { 'mqtt.anonymous': 2, 'telnet.open': 1 },
};
// gw-3 and gw-4 are silent but still counted by their day-0 reports; gw-1 by its later report of the day.
const DAY1 = {
  start: iso(T0 + DAY),
  devices: 4,
  reporting: 2,
  averageScore: 75,
  grades: { A: 1, B: 1, C: 1, D: 0, F: 1 },
  scores: buckets({ 4: 1, 7: 1, 8: 1, 10: 1 }),
  checks: { 'http.security-headers': 1, 'mqtt.anonymous': 2, 'telnet.open': 1 },
};
// gw-4 was revoked before the day's end: gone. gw-2's latest report has no finding any more.
const DAY2 = {
  start: iso(T0 + 2 * DAY),
  devices: 3,
  reporting: 1,
  averageScore: 67.7,
  grades: { ...noGrades, B: 1, C: 1, F: 1 },
  scores: buckets({ 4: 1, 7: 1, 8: 1 }),
  checks: { 'http.security-headers': 1, 'mqtt.anonymous': 1, 'telnet.open': 1 },
};
const DAY3 = { ...DAY2, start: iso(T0 + 3 * DAY), reporting: 0, partial: true };

test('daily snapshots from known reports: silent devices counted, revoked left out, findings by device', async () => {
  const db = fleetDb();
  try {
    const r = await createPostureSnapshotter(postureOf(db), {
      now: () => NOW,
      maxPeriods: 1000,
      budgetMs: Infinity,
    }).catchUp();
    // Hours from the first report's (day 0, 01:00) through 09:00 today: 10:00 is still going on.
    assert.equal(r, { computed: 3 + (3 * 24 + 9), remaining: 0, pruned: 0 });
    const history = await createPostureHistory(postureOf(db))({ resolution: 'day', since: T0 - 5 * DAY }, NOW);
    assert.equal(history, { resolution: 'day', periods: [DAY0, DAY1, DAY2, DAY3] });
  } finally {
    db.close();
  }
});

test('hourly snapshots: reporting means within the hour; devices before their first report not counted', async () => {
  const db = fleetDb();
  try {
    await createPostureSnapshotter(postureOf(db), { now: () => NOW, maxPeriods: 1000, budgetMs: Infinity }).catchUp();
    const hours = rows(db, 'hour');
    assert.is(hours[0]!.start, T0 + HOUR, 'from the hour of the first report');
    assert.is(hours.at(-1)!.start, T0 + 3 * DAY + 9 * HOUR);
    const at = (t: number) => hours.find((h) => h.start === t)!;
    assert.equal([at(T0 + HOUR).devices, at(T0 + HOUR).reporting], [1, 1]);
    assert.equal([at(T0 + 2 * HOUR).devices, at(T0 + 2 * HOUR).reporting], [2, 1]);
    assert.equal([at(T0 + 10 * HOUR).devices, at(T0 + 10 * HOUR).reporting], [3, 0]);
    // Day 2 at 11:00 gw-4 still counts; from 12:00 (its revocation) it does not.
    assert.is(at(T0 + 2 * DAY + 11 * HOUR).devices, 4);
    assert.is(at(T0 + 2 * DAY + 12 * HOUR).devices, 3);
    assert.is(at(T0 + 2 * DAY + 12 * HOUR).average_score, 67.7);

    const live = await createPostureHistory(postureOf(db))({ resolution: 'hour' }, NOW);
    assert.is(live.periods.length, 49, 'the last 48 hours by default, and the current one');
    assert.is(live.periods[0]!.start, iso(T0 + DAY + 10 * HOUR));
    assert.equal(live.periods.at(-1), { ...DAY3, start: iso(T0 + 3 * DAY + 10 * HOUR) });
    assert.equal(
      live.periods.filter((p) => p.partial).length,
      1,
      'only the current hour is live: the previous one is stored',
    );
  } finally {
    db.close();
  }
});

test('catch-up is idempotent: a second run computes nothing and every row stays as it was', async () => {
  const db = fleetDb();
  try {
    const snapshotter = createPostureSnapshotter(postureOf(db), {
      now: () => NOW,
      maxPeriods: 1000,
      budgetMs: Infinity,
    });
    await snapshotter.catchUp();
    const before = [...rows(db, 'day'), ...rows(db, 'hour')];
    assert.equal(await snapshotter.catchUp(), { computed: 0, remaining: 0, pruned: 0 });
    assert.equal([...rows(db, 'day'), ...rows(db, 'hour')], before);
    assert.is(before.length, 84);
  } finally {
    db.close();
  }
});

test('a backlog is spread over calls: at most maxPeriods, and no more once the time budget is spent', async () => {
  const db = fleetDb();
  try {
    const capped = createPostureSnapshotter(postureOf(db), { now: () => NOW, maxPeriods: 30, budgetMs: Infinity });
    assert.is(await capped.pending(), 84, 'what the server asks every minute before it starts a thread');
    assert.equal(await capped.catchUp(), { computed: 30, remaining: 54, pruned: 0 });
    assert.is(await capped.pending(), 54);
    // Newest first: the hours right before now are there, the first day not yet.
    assert.is(rows(db, 'hour').at(-1)!.start, T0 + 3 * DAY + 9 * HOUR);
    assert.is(rows(db, 'day').length, 0);
    let clock = 0;
    const timed = createPostureSnapshotter(postureOf(db), {
      now: () => NOW,
      maxPeriods: 1000,
      budgetMs: 50,
      elapsed: () => (clock += 30),
    });
    assert.equal(
      await timed.catchUp(),
      { computed: 2, remaining: 52, pruned: 0 },
      'the third period would start at 60 ms',
    );
    let calls = 0;
    while ((await capped.catchUp()).remaining > 0) calls++;
    assert.is(calls, 1);
    assert.is(await capped.pending(), 0);
    assert.is(rows(db, 'day').length + rows(db, 'hour').length, 84);
  } finally {
    db.close();
  }
});

test('hourly rows older than a week are pruned; daily rows are kept', async () => {
  const db = fleetDb();
  try {
    await createPostureSnapshotter(postureOf(db), { now: () => NOW, maxPeriods: 1000, budgetMs: Infinity }).catchUp();
    const later = NOW + 8 * DAY;
    const r = await createPostureSnapshotter(postureOf(db), {
      now: () => later,
      maxPeriods: 1000,
      budgetMs: Infinity,
    }).catchUp();
    const hours = rows(db, 'hour');
    assert.is(hours.length, 168, 'the last 168 completed hours');
    assert.is(hours[0]!.start, T0 + 11 * DAY + 10 * HOUR - 168 * HOUR);
    assert.is(r.pruned, 81, 'every hour of the first run, all of them before day 4 at 10:00');
    assert.equal(
      rows(db, 'day').map((d) => d.start),
      Array.from({ length: 11 }, (_, i) => T0 + i * DAY),
      'every day since the first report',
    );
    // A week of silence: every device still counted by its latest report, none reporting.
    assert.equal([hours.at(-1)!.devices, hours.at(-1)!.reporting, hours.at(-1)!.average_score], [3, 0, 67.7]);
  } finally {
    db.close();
  }
});

test('daily rows go back at most 366 days; the read brings an older since forward to it', async () => {
  const db = openDb(join(tmpDir('edgeward-posture-'), 'fleet.db'));
  try {
    db.prepare(`INSERT INTO devices (id, status, created_at) VALUES ('gw-old', 'active', 0)`).run();
    report(db, 'gw-old', NOW - 500 * DAY, 50, 'D', []);
    const r = await createPostureSnapshotter(postureOf(db), {
      now: () => NOW,
      maxPeriods: 10_000,
      budgetMs: Infinity,
    }).catchUp();
    assert.is(r.computed, 366 + 168);
    const history = await createPostureHistory(postureOf(db))({ resolution: 'day', since: 0 }, NOW);
    assert.is(history.periods.length, 367, '366 stored days and today');
    assert.is(history.periods[0]!.start, iso(T0 + 3 * DAY - 366 * DAY));
    assert.ok(history.periods.every((p) => p.devices === 1 && p.reporting === 0 && p.averageScore === 50));
  } finally {
    db.close();
  }
});

test('before any snapshot is stored: the current period and the previous one are live, the rest absent', async () => {
  const db = fleetDb();
  try {
    // As on a host whose server has not run since day 2 (fleet posture --data): days 0 and 1 are not there yet.
    const history = await createPostureHistory(postureOf(db))({ resolution: 'day', since: T0 }, NOW);
    assert.equal(history.periods, [
      { ...DAY2, partial: true },
      { ...DAY3, partial: true },
    ]);
    const empty = openDb(join(tmpDir('edgeward-posture-'), 'fleet.db'));
    try {
      assert.equal(await createPostureHistory(postureOf(empty))({ resolution: 'hour' }, NOW), {
        resolution: 'hour',
        periods: [
          {
            start: iso(T0 + 3 * DAY + 10 * HOUR),
            devices: 0,
            reporting: 0,
            averageScore: null,
            grades: noGrades,
            scores: buckets({}),
            checks: {},
            partial: true,
          },
        ],
      });
      assert.equal(await createPostureSnapshotter(postureOf(empty), { now: () => NOW }).catchUp(), {
        computed: 0,
        remaining: 0,
        pruned: 0,
      });
    } finally {
      empty.close();
    }
  } finally {
    db.close();
  }
});

test("fleet posture --since: durations and ISO times, by day from 3 days on, each resolution's limit", () => {
  assert.equal(posturePeriodsOption('30d', undefined, NOW), { resolution: 'day', since: iso(NOW - 30 * DAY) });
  assert.equal(posturePeriodsOption('48h', undefined, NOW), { resolution: 'hour', since: iso(NOW - 48 * HOUR) });
  assert.equal(posturePeriodsOption('3d', undefined, NOW).resolution, 'day');
  assert.equal(posturePeriodsOption('71h', undefined, NOW).resolution, 'hour');
  assert.equal(posturePeriodsOption('90m', 'day', NOW), { resolution: 'day', since: iso(NOW - 90 * 60_000) });
  assert.equal(posturePeriodsOption(iso(T0), undefined, NOW), { resolution: 'day', since: iso(T0) });
  assert.equal(posturePeriodsOption('366d', undefined, NOW).resolution, 'day');
  assert.equal(posturePeriodsOption('168h', 'hour', NOW).resolution, 'hour');
  for (const [since, resolution, message] of [
    ['367d', undefined, /at most 366d with --resolution day/],
    ['169h', 'hour', /at most 168h with --resolution hour/],
    ['30', undefined, /a duration \(30d, 48h\) or an ISO 8601 time/],
    ['yesterday', undefined, /a duration/],
    [iso(NOW + HOUR), undefined, /must be in the past/],
    ['0d', undefined, /must be in the past/],
    ['2d', 'week', /--resolution is day or hour/],
  ] as const) {
    assert.throws(() => posturePeriodsOption(since, resolution, NOW), message, since);
  }
});

test.run();
