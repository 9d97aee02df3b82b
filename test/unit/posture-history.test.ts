// The fleet's posture per UTC day (broker/src/db/posture-history.ts): each device counted once a day, by its latest
// report as of that day's end; the last day agrees with `fleet posture`.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sampleReport } from '../../agent/src/scan/index.js';
import { createExposureStore } from '../../broker/src/db/exposure.js';
import { type Db, openDb } from '../../broker/src/db/open.js';
import { postureHistory } from '../../broker/src/db/posture-history.js';
import { tmpDir } from '../helpers/tmp.js';

const DAY = 86_400_000;
const now = Date.UTC(2025, 5, 10, 15, 0, 0);
const today = Date.UTC(2025, 5, 10);
let db: Db;

/** A stored report of `score` and `grade` for the device, received at `at`. */
function report(deviceId: string, at: number, score: number, grade: 'A' | 'B' | 'C' | 'D' | 'F'): void {
  const r = { ...sampleReport(deviceId, () => 0.5), score, grade };
  createExposureStore(db).add(deviceId, r, at);
}

test.before(() => {
  db = openDb(join(tmpDir('edgeward-posture-'), 'fleet.db'));
});
test.after(() => {
  db.close();
});

test('no reports: every day is empty', () => {
  const days = postureHistory(db, 3, now);
  assert.equal(
    days.map((d) => d.day),
    ['2025-06-08', '2025-06-09', '2025-06-10'],
  );
  for (const d of days) {
    assert.equal(d, { day: d.day, devices: 0, averageScore: null, grades: { A: 0, B: 0, C: 0, D: 0, F: 0 } });
  }
});

test('each day counts each device by its latest report as of that day', () => {
  report('gw-1', today - 10 * DAY, 95, 'A'); // before the period: counted from its first day
  report('gw-2', today - 2 * DAY + 3600_000, 40, 'F');
  report('gw-1', today - DAY + 60_000, 70, 'C'); // gw-1 falls from A to C the day before today
  report('gw-1', today - DAY + 120_000, 72, 'C'); // later the same day: only the latest counts
  report('gw-3', today + 3600_000, 88, 'B');
  const days = postureHistory(db, 4, now);
  assert.equal(days, [
    { day: '2025-06-07', devices: 1, averageScore: 95, grades: { A: 1, B: 0, C: 0, D: 0, F: 0 } },
    { day: '2025-06-08', devices: 2, averageScore: 67.5, grades: { A: 1, B: 0, C: 0, D: 0, F: 1 } },
    { day: '2025-06-09', devices: 2, averageScore: 56, grades: { A: 0, B: 0, C: 1, D: 0, F: 1 } },
    { day: '2025-06-10', devices: 3, averageScore: 66.7, grades: { A: 0, B: 1, C: 1, D: 0, F: 1 } },
  ]);
  const posture = createExposureStore(db).posture();
  const last = days.at(-1)!;
  assert.equal([last.devices, last.averageScore, last.grades], [posture.devices, posture.averageScore, posture.grades]);
});

test.run();
