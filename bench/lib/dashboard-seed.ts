// A year-old fleet for bench/dashboard, written straight into a data folder's database: devices with certificate
// rows, every device's exposure reports (the latest and a few older ones, realistic ones from the agent's sample
// generator, so their findings are real check ids), a year of daily and a week of hourly posture snapshots, some
// telemetry and security events. Direct SQL in one transaction (telemetry through the ingest store, which keeps
// its key tables in step): 10,000 devices take a few seconds instead of the hours a simulated year would.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sampleReport } from '../../agent/src/scan/index.js';
import type { Db } from '../../broker/src/db/open.js';
import {
  createPostureSnapshots,
  DAY,
  GRADES,
  HOUR,
  type PostureSnapshot,
  periodStart,
  type Resolution,
} from '../../broker/src/db/posture-snapshots.js';
import { initPki, openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { createIngestStore } from '../../broker/src/fleet/ingest-store.js';

export interface DashboardSeedOptions {
  /** Registered devices, gw-00001 … (default 10,000). */
  readonly devices?: number;
  /** How old the fleet is: reports and daily snapshots go back this far (default 365). */
  readonly days?: number;
  /** Reports per device besides the latest, spread over `days` (default 2). */
  readonly olderReports?: number;
  /** Devices with 24 hours of telemetry, a sample every 5 minutes (default 20). */
  readonly telemetryDevices?: number;
  /** Security events over the last 30 days (default 2,000). */
  readonly events?: number;
  /** The wall clock the fleet is seeded up to (default now). */
  readonly now?: number;
  /** The same seed gives the same fleet (default 1). */
  readonly seed?: number;
}

export interface DashboardSeed {
  readonly devices: number;
  readonly revoked: number;
  /** Active devices whose latest report is more than 2 days old. */
  readonly silent: number;
  readonly reports: number;
  readonly findings: number;
  readonly snapshots: { readonly day: number; readonly hour: number };
  readonly samples: number;
  readonly events: number;
  readonly ms: number;
}

/** Share of the devices revoked during the year, and of those that stopped reporting 2 to 30 days ago. */
const REVOKED = 0.01;
const SILENT = 0.05;
const SECURITY_EVENTS = ['auth.denied', 'acl.denied', 'tls.denied', 'rate.throttled', 'connect.refused'] as const;

/** A small deterministic generator (an LCG): the same seed, the same fleet. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

const deviceId = (i: number) => `gw-${String(i).padStart(5, '0')}`;
const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/**
 * Seeds `dataDir` (made with a new CA when it has none, as `fleet pki init`) with a fleet `days` old. The folder
 * must not be in use by a server; its database should be new (device ids would collide with an earlier seed).
 */
export async function seedDashboardFleet(dataDir: string, opts: DashboardSeedOptions = {}): Promise<DashboardSeed> {
  const began = performance.now();
  const devices = opts.devices ?? 10_000;
  const days = opts.days ?? 365;
  const olderReports = opts.olderReports ?? 2;
  const now = opts.now ?? Date.now();
  const rng = lcg(opts.seed ?? 1);
  if (!existsSync(join(dataDir, 'pki', 'ca.crt'))) await initPki(dataDir);
  const db = openFleetDb(dataDir);
  try {
    const counts = seedRows(db, { devices, days, olderReports, now, rng });
    const snapshots = seedSnapshots(db, days, now, rng);
    const samples = seedTelemetry(db, Math.min(devices, opts.telemetryDevices ?? 20), now, rng);
    const events = seedEvents(db, opts.events ?? 2000, devices, now, rng);
    return { ...counts, snapshots, samples, events, ms: Math.round(performance.now() - began) };
  } finally {
    db.close();
  }
}

interface RowOptions {
  readonly devices: number;
  readonly days: number;
  readonly olderReports: number;
  readonly now: number;
  readonly rng: () => number;
}

/** Devices, certificates, reports and findings, in one transaction; reports inserted in order of arrival. */
function seedRows(db: Db, o: RowOptions) {
  const { rng, now } = o;
  const span = o.days * DAY;
  const addDevice = db.prepare(`
    INSERT INTO devices (id, device_type, status, created_at, revoked_at, last_seen, agent_version, firmware_version,
      telemetry_count) VALUES (?, 'default', ?, ?, ?, ?, '0.1.0', ?, 0)`);
  const addCertificate = db.prepare(`
    INSERT INTO certificates (serial, device_id, fingerprint, not_before, not_after, issued_at, revoked_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const addReport = db.prepare(`
    INSERT INTO exposure_reports (device_id, msg_id, device_ts, received_at, scoring_version, score, grade,
      categories, services, findings, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const addFinding = db.prepare(
    'INSERT INTO exposure_findings (report_id, device_id, check_id, severity, port, title) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const setLatest = db.prepare('UPDATE devices SET exposure_score = ?, exposure_grade = ? WHERE id = ?');

  // When each report arrives: the fleet grew over the year; a device's latest report is from the last day, or
  // 2 to 30 days ago for the ones that went silent, or before its revocation.
  const arrivals: { device: number; at: number; latest: boolean }[] = [];
  let revoked = 0;
  let silent = 0;
  return db.transaction(() => {
    for (let i = 1; i <= o.devices; i++) {
      const id = deviceId(i);
      const createdAt = now - span + Math.floor(rng() * rng() * span * 0.9);
      const revokedAt = rng() < REVOKED ? createdAt + Math.floor(rng() * (now - createdAt)) : null;
      const isSilent = revokedAt === null && rng() < SILENT;
      const lastAt =
        revokedAt !== null
          ? revokedAt - 1 - Math.floor(rng() * Math.min(DAY, revokedAt - createdAt))
          : isSilent
            ? now - 2 * DAY - Math.floor(rng() * 28 * DAY)
            : now - 1 - Math.floor(rng() * DAY);
      const latestAt = Math.max(createdAt + 1, lastAt);
      if (revokedAt !== null) revoked++;
      if (isSilent) silent++;
      addDevice.run(id, revokedAt === null ? 'active' : 'revoked', createdAt, revokedAt, latestAt, '1.0.0');
      const serial = hex(i, 32);
      // A few certificates expire within the month, for the dashboard's expiry list.
      const notAfter = rng() < 0.02 ? now + Math.floor(rng() * 30 * DAY) : createdAt + 2 * 365 * DAY;
      addCertificate.run(serial, id, hex(i, 64), createdAt, notAfter, createdAt, revokedAt);
      arrivals.push({ device: i, at: latestAt, latest: true });
      for (let k = 0; k < o.olderReports; k++) {
        arrivals.push({ device: i, at: createdAt + Math.floor(rng() * (latestAt - createdAt)), latest: false });
      }
    }
    arrivals.sort((a, b) => a.at - b.at || a.device - b.device);
    let findings = 0;
    let msg = 0;
    for (const a of arrivals) {
      const id = deviceId(a.device);
      const r = sampleReport(id, rng, { now: a.at, id: `seed-${hex(++msg, 12)}` });
      const reportId = Number(
        addReport.run(
          id,
          r.id,
          r.ts,
          a.at,
          r.scoringVersion,
          r.score,
          r.grade,
          JSON.stringify(r.categories),
          r.services.length,
          r.findings.length,
          JSON.stringify(r),
        ).lastInsertRowid,
      );
      for (const f of r.findings) addFinding.run(reportId, id, f.check, f.severity, f.port, f.title);
      findings += r.findings.length;
      if (a.latest) setLatest.run(r.score, r.grade, id);
    }
    return { devices: o.devices, revoked, silent, reports: arrivals.length, findings };
  })();
}

/**
 * `days` daily and 168 hourly snapshots. Computing them from the reports would take a query set per period (about
 * half a minute for a year of 10,000 devices): they are drawn instead as a trend that ends where the fleet stands
 * now (computed from the seeded reports), the fleet growing to its size and its scores improving over the year.
 */
function seedSnapshots(db: Db, days: number, now: number, rng: () => number): { day: number; hour: number } {
  const store = createPostureSnapshots(db);
  const today = periodStart('day', now);
  const current = store.compute('day', today);
  const periods: { resolution: Resolution; start: number; progress: number }[] = [];
  for (let d = days; d >= 1; d--) periods.push({ resolution: 'day', start: today - d * DAY, progress: 1 - d / days });
  const hour = periodStart('hour', now);
  for (let h = 168; h >= 1; h--) periods.push({ resolution: 'hour', start: hour - h * HOUR, progress: 1 });
  db.transaction(() => {
    for (const p of periods) store.store(drawSnapshot(current, p.resolution, p.start, p.progress, rng), now);
  })();
  return { day: days, hour: 168 };
}

/** The current posture, `progress` (0: a year ago, 1: now) of the way along a year of growth and improvement. */
function drawSnapshot(
  now: PostureSnapshot,
  resolution: Resolution,
  start: number,
  progress: number,
  rng: () => number,
): PostureSnapshot {
  const size = 0.55 + 0.45 * progress;
  // A worse year ago: a share of each bucket from 50 up sits 2 buckets lower.
  const slip = 0.25 * (1 - progress) + 0.02 * (rng() - 0.5);
  const scores = now.scores.map((n) => n * size);
  for (let b = 5; b <= 10; b++) {
    const moved = scores[b]! * Math.max(0, slip);
    scores[b]! -= moved;
    scores[b - 2]! += moved;
  }
  const counts = scores.map((n) => Math.round(n));
  const devices = counts.reduce((a, n) => a + n, 0);
  const mid = (b: number) => (b === 10 ? 100 : b * 10 + 4.5);
  const sum = counts.reduce((a, n, b) => a + n * mid(b), 0);
  // Grades from the buckets (docs/scoring.md: A from 90, B 80, C 70, D 60, F below).
  const grades = Object.fromEntries(GRADES.map((g) => [g, 0])) as PostureSnapshot['grades'];
  counts.forEach((n, b) => {
    grades[b >= 9 ? 'A' : b === 8 ? 'B' : b === 7 ? 'C' : b === 6 ? 'D' : 'F'] += n;
  });
  const worse = 1 + 0.3 * (1 - progress);
  const scale = now.devices ? (devices / now.devices) * worse : 0;
  const reportingShare = resolution === 'day' ? 0.9 : 0.2;
  return {
    resolution,
    start,
    devices,
    reporting: Math.round(devices * reportingShare * (0.95 + 0.1 * rng())),
    averageScore: devices ? Math.round((sum / devices) * 10) / 10 : null,
    grades,
    scores: counts,
    checks: Object.fromEntries(
      Object.entries(now.checks).map(([check, n]) => [check, Math.min(devices, Math.round(n * scale))]),
    ),
  };
}

/** 24 hours of samples, every 5 minutes, of the first `count` devices, through the ingest store. */
function seedTelemetry(db: Db, count: number, now: number, rng: () => number): number {
  const ingest = createIngestStore(db);
  const every = 5 * 60_000;
  const perDevice = (24 * HOUR) / every;
  let samples = 0;
  for (let i = 1; i <= count; i++) {
    const first = now - 24 * HOUR;
    const batch = Array.from({ length: perDevice }, (_, k) => ({
      seq: k + 1,
      ts: first + k * every,
      m: {
        cpuLoad1: Math.round(rng() * 200) / 100,
        memTotalBytes: 1024 ** 3,
        memUsedBytes: Math.round((0.3 + rng() * 0.4) * 1024 ** 3),
        uptimeSeconds: 86_400 + k * 300,
        diskTotalBytes: 32 * 1024 ** 3,
        diskUsedBytes: Math.round((0.2 + rng() * 0.1) * 32 * 1024 ** 3),
        temperatureC: Math.round((40 + rng() * 20) * 10) / 10,
      },
    }));
    const message = { v: 1 as const, id: `seed-t-${hex(i, 8)}`, ts: now, stream: `seed-${hex(i, 8)}`, samples: batch };
    const decoded = { kind: 'telemetry' as const, message };
    ingest.writeBatch([{ kind: 'message', deviceId: deviceId(i), decoded, receivedAt: now }], now);
    samples += batch.length;
  }
  return samples;
}

/** Security events over the last 30 days, in order of time (the log is append-only and read by time). */
function seedEvents(db: Db, count: number, devices: number, now: number, rng: () => number): number {
  const add = db.prepare('INSERT INTO audit (at, event, device_id, address, actor, detail) VALUES (?, ?, ?, ?, ?, ?)');
  const times = Array.from({ length: count }, () => now - Math.floor(rng() * 30 * DAY)).sort((a, b) => a - b);
  db.transaction(() => {
    for (const at of times) {
      const event = SECURITY_EVENTS[Math.floor(rng() * SECURITY_EVENTS.length)]!;
      const device = deviceId(1 + Math.floor(rng() * devices));
      const address = `10.${Math.floor(rng() * 256)}.${Math.floor(rng() * 256)}.${1 + Math.floor(rng() * 254)}`;
      add.run(at, event, device, address, null, JSON.stringify({ reason: 'seeded' }));
    }
  })();
  return count;
}
