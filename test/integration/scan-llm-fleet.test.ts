// A real scan of a gullible fake AI endpoint reaches the fleet: the llm.* findings and the ai sub-score are stored,
// shown by `fleet report`, and counted by `fleet posture`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runScan } from '../../agent/src/scan/index.js';
import { deviceTopic, encode } from '../../shared/src/index.js';
import { startFakeAi } from '../helpers/fake-ai.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { fleetCli } from '../helpers/run.js';

const id = 'gw-ai1';
let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet([id]);
  await fleet.start();
});
test.after(async () => {
  await fleet.close();
});

test('llm.* findings and the ai sub-score reach fleet report and fleet posture', async () => {
  const fake = await startFakeAi('ollama', 'gullible');
  const report = await runScan({ ports: String(fake.port), deviceId: id, credentialChecks: false, timeoutMs: 30_000 });
  await fake.close();
  assert.ok(report.categories.ai !== null && report.categories.ai < 100);
  const c = await fleet.connect(id);
  await c.publishAsync(deviceTopic(id, 'exposure'), encode(report), { qos: 1 });
  await c.endAsync();
  const r = await fleetCli(['report', id, '--data', fleet.dataDir, '--json']);
  assert.is(r.code, 0, r.output);
  const latest = (
    JSON.parse(r.stdout) as {
      latest: { categories: { ai: number | null }; findings: { check: string; category: string }[] };
    }
  ).latest;
  assert.is(latest.categories.ai, report.categories.ai);
  const llm = latest.findings.filter((f) => f.check.startsWith('llm.'));
  assert.ok(llm.length >= 5, llm.map((f) => f.check).join(', '));
  assert.ok(llm.every((f) => f.category === 'ai'));
  const text = await fleetCli(['report', id, '--data', fleet.dataDir]);
  assert.match(text.stdout, new RegExp(`ai ${report.categories.ai}`));
  const p = JSON.parse((await fleetCli(['posture', '--data', fleet.dataDir, '--json'])).stdout) as {
    devices: number;
    worst: { deviceId: string; score: number }[];
  };
  assert.is(p.devices, 1);
  assert.is(p.worst[0]!.score, report.score);
});

test.run();
