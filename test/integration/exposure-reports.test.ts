// Exposure reports reach the fleet: validated, stored whole, shown by `fleet report` and `fleet posture`,
// and fed to the fleet audit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sampleReport } from '../../agent/src/scan/index.js';
import { deviceTopic, encode } from '../../shared/src/index.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { fleetCli } from '../helpers/run.js';

let fleet: TestFleet;
const ids = ['gw-e1', 'gw-e2', 'gw-e3'];

test.before(async () => {
  fleet = await createTestFleet(ids);
  await fleet.start();
});
test.after(async () => {
  await fleet.close();
});

function rng(seed: number) {
  let s = seed;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

async function publishAs(id: string, payload: Buffer): Promise<void> {
  const c = await fleet.connect(id);
  await c.publishAsync(deviceTopic(id, 'exposure'), payload, { qos: 1 });
  await c.endAsync();
}

test('reports are stored, and `fleet report --json` returns the latest with its history', async () => {
  for (const [i, id] of ids.entries()) {
    await publishAs(id, encode(sampleReport(id, rng(i + 1))));
    await publishAs(id, encode(sampleReport(id, rng(i + 100))));
  }
  const r = await fleetCli(['report', 'gw-e1', '--data', fleet.dataDir, '--json']);
  assert.is(r.code, 0, r.output);
  const body = JSON.parse(r.stdout) as {
    latest: { deviceId: string; score: number; findings: unknown[] };
    history: { score: number }[];
  };
  assert.is(body.latest.deviceId, 'gw-e1');
  assert.is(body.history.length, 2);
  assert.is(body.history[0]!.score, body.latest.score);
  const text = await fleetCli(['report', 'gw-e1', '--data', fleet.dataDir]);
  assert.match(text.stdout, /score \d+\/100, grade [A-F]/);
});

test('`fleet posture` shows the grade distribution and the worst devices', async () => {
  const r = await fleetCli(['posture', '--data', fleet.dataDir, '--json']);
  const p = JSON.parse(r.stdout) as {
    devices: number;
    grades: Record<string, number>;
    worst: { deviceId: string; score: number }[];
  };
  assert.is(p.devices, 3);
  assert.is(
    Object.values(p.grades).reduce((a, b) => a + b, 0),
    3,
  );
  assert.ok(p.worst[0]!.score <= p.worst[2]!.score);
  assert.match((await fleetCli(['posture', '--data', fleet.dataDir])).stdout, /worst devices/);
});

test('a report naming another device is rejected, not stored', async () => {
  await publishAs('gw-e2', encode(sampleReport('gw-e3', rng(7))));
  const reject = fleet.db
    .prepare(`SELECT code, message FROM ingest_rejects WHERE device_id = 'gw-e2' ORDER BY id DESC LIMIT 1`)
    .get() as { code: string; message: string };
  assert.is(reject.code, 'PROTO_INVALID_MESSAGE');
  assert.match(reject.message, /names device gw-e3/);
  assert.is(fleet.db.prepare(`SELECT count(*) FROM exposure_reports WHERE device_id = 'gw-e3'`).pluck().get(), 2);
});

test('the fleet audit flags devices whose latest score is below the threshold', async () => {
  const scores = fleet.db.prepare(`SELECT id, exposure_score FROM devices`).all() as {
    id: string;
    exposure_score: number;
  }[];
  const r = await fleetCli(['audit', '--data', fleet.dataDir, '--json']);
  const findings = (JSON.parse(r.stdout) as { findings: { check: string; deviceId: string }[] }).findings.filter(
    (f) => f.check === 'exposure-score-low',
  );
  assert.equal(
    findings.map((f) => f.deviceId).sort(),
    scores
      .filter((s) => s.exposure_score < 70)
      .map((s) => s.id)
      .sort(),
  );
});

test.run();
