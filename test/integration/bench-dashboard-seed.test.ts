// bench/lib/dashboard-seed.ts: a seeded data folder is one the fleet server opens (its own checks of the database
// pass) and answers from: the posture history (stored days and hours, then the live period), the posture, the
// device list, the events and a seeded device's telemetry.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { seedDashboardFleet } from '../../bench/lib/dashboard-seed.js';
import { openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { createFleetServer } from '../../broker/src/server.js';
import { testLogger } from '../helpers/fleet.js';
import { addOperator, apiClientFor } from '../helpers/operators.js';
import { tmpDir } from '../helpers/tmp.js';

const DAY = 86_400_000;

interface Period {
  start: string;
  devices: number;
  reporting: number;
  averageScore: number | null;
  grades: Record<string, number>;
  scores: number[];
  checks: Record<string, number>;
  partial?: true;
}

test('a seeded folder opens in the fleet server, and its posture history and lists answer', async () => {
  const dataDir = join(tmpDir('edgeward-dashboard-seed-'), 'data');
  const seeded = await seedDashboardFleet(dataDir, { devices: 300, days: 40, telemetryDevices: 3, events: 100 });
  assert.is(seeded.devices, 300);
  assert.is(seeded.reports, 900, 'the latest and 2 older reports of each device');
  assert.ok(seeded.findings > 300, `findings: ${seeded.findings}`);
  assert.equal(seeded.snapshots, { day: 40, hour: 168 });
  assert.is(seeded.samples, 3 * 288);

  const db = openFleetDb(dataDir);
  const operator = await addOperator(db, 'viewer', 'viewer');
  db.close();
  const server = await createFleetServer({ dataDir, mqttPort: 0, httpPort: 0, downloadPort: 0, log: testLogger() });
  const api = apiClientFor(dataDir, server.httpPort, { credential: operator.credential });
  try {
    const stored = server.db.prepare('SELECT resolution, count(*) AS n FROM posture_snapshots GROUP BY 1 ORDER BY 1');
    const days = await api.call<{ resolution: string; periods: Period[] }>(
      'GET',
      `/api/v1/posture/history?since=${new Date(Date.now() - 30 * DAY).toISOString()}`,
    );
    assert.is(days.resolution, 'day');
    assert.ok(days.periods.length >= 31, 'the 30 stored days, then today');
    const today = days.periods.at(-1)!;
    assert.is(today.partial, true);
    const yesterday = days.periods.at(-2)!;
    assert.ok(yesterday.devices > 250 && yesterday.averageScore !== null, JSON.stringify(yesterday));
    for (const p of days.periods) {
      assert.is(
        Object.values(p.grades).reduce((a, n) => a + n, 0),
        p.devices,
        'the grades add up to the devices',
      );
      assert.is(
        p.scores.reduce((a, n) => a + n, 0),
        p.devices,
        'the score buckets too',
      );
      assert.ok(p.reporting <= p.devices);
    }
    const hours = await api.call<{ periods: Period[] }>('GET', '/api/v1/posture/history?resolution=hour');
    assert.ok(hours.periods.length >= 49, 'the last 48 hours by default, then the current one');
    const posture = await api.call<{ devices: number; unreported: number }>('GET', '/api/v1/posture');
    assert.ok(posture.devices >= 290, `devices with a report: ${posture.devices}`);
    const list = await api.call<{ items: unknown[] }>('GET', '/api/v1/devices?limit=50');
    assert.is(list.items.length, 50);
    const events = await api.call<{ items: unknown[] }>('GET', '/api/v1/events?limit=100');
    assert.is(events.items.length, 100);
    const samples = await api.call<{ items: unknown[] }>('GET', '/api/v1/devices/gw-00001/telemetry?limit=1000');
    assert.is(samples.items.length, 288);
    // The server's snapshotter found no day missing: every stored day is the seed's (an hour may have ended since).
    const counts = Object.fromEntries(
      (stored.all() as { resolution: string; n: number }[]).map((r) => [r.resolution, r.n]),
    );
    assert.is(counts.day, 40);
    assert.ok(counts.hour! >= 168 && counts.hour! <= 169, `hours: ${counts.hour}`);
  } finally {
    api.close();
    await server.close();
  }
});

test.run();
