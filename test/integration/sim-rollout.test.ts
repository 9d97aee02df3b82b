// fleet-sim rollout against a real fleet server: the release is published and rolled out by the server's own
// engine; every virtual device runs the agent's update client (mTLS download from the download listener, streaming
// verification, A/B install in memory, health check). A clean release reaches every device stage by stage; with
// failures above the error threshold the rollout halts by itself and no device is left without a working image.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCliAdmin } from '../../broker/src/admin/cli-admin.js';
import { checkResult, createSimulator, type SimResult } from '../../simulator/src/index.js';
import { createFirmwareKit } from '../helpers/firmware.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
const kit = createFirmwareKit(tmpDir('edgeward-sim-rollout-'));
let sequence = 10;

test.before(async () => {
  fleet = await createTestFleet();
  const admin = createCliAdmin(fleet.dataDir, 'test');
  await admin.trust.set(kit.trust);
  admin.close();
  await fleet.start({ rolloutTickMs: 200 });
});
test.after(async () => fleet?.close());

async function drill(
  prefix: string,
  devices: number,
  opts: { failRate?: number; failMode?: 'download' | 'verify' | 'health'; stages?: number[] } = {},
): Promise<SimResult> {
  const bundle = kit.bundle({ version: `1.${sequence}.0`, sequence: ++sequence }, 64 * 1024, {
    name: `${prefix}.ewfw`,
  });
  const sim = await createSimulator({
    server: fleet.url(),
    serverApi: `https://127.0.0.1:${fleet.server.httpPort}`,
    dataDir: fleet.dataDir,
    devices,
    prefix,
    scenario: 'rollout',
    release: bundle.path,
    durationMs: 60_000,
    telemetryIntervalSeconds: 5,
    rampPerSecond: 500,
    workers: 0,
    exposureEveryMs: 0,
    stages: opts.stages ?? [10, 50, 100],
    ...(opts.failRate !== undefined ? { failRate: opts.failRate } : {}),
    ...(opts.failMode ? { failMode: opts.failMode } : {}),
  });
  const r = await sim.done;
  assert.equal(checkResult(JSON.parse(JSON.stringify(r))), r, 'the JSON form passes the schema');
  return r;
}

test('a clean release reaches every device, stage by stage', async () => {
  const r = await drill('ro-ok-', 20);
  assert.ok(r.ok, JSON.stringify(r.invariants));
  const ro = r.rollout!;
  assert.is(ro.state, 'completed');
  assert.is(ro.devicesUpdated, 20);
  assert.is(ro.devicesFailed, 0);
  assert.is(ro.halted, false);
  assert.equal(
    ro.stageTimes.map((s) => [s.stage, s.percent, s.devices]),
    [
      [0, 10, 2],
      [1, 50, 10],
      [2, 100, 20],
    ],
  );
  assert.ok(ro.stageTimes.every((s) => s.endedMs !== null && s.seconds !== null));
  assert.ok(r.invariants.some((i) => i.name === 'no-device-without-image' && i.ok && /20 on 1\.10\.0/.test(i.detail)));
  // The server learned every outcome from the devices themselves, and the devices report the new version.
  const committed = fleet.db
    .prepare(
      `SELECT count(DISTINCT device_id) FROM update_status WHERE state = 'Committed' AND device_id LIKE 'ro-ok-%'`,
    )
    .pluck()
    .get();
  assert.is(committed, 20);
});

for (const mode of ['verify', 'health', 'download'] as const) {
  test(`30 % failing at ${mode}: the rollout halts by itself; every device keeps a working image`, async () => {
    const r = await drill(`ro-${mode}-`, 20, { failRate: 0.3, failMode: mode, stages: [50, 100] });
    assert.ok(r.ok, JSON.stringify(r.invariants));
    const ro = r.rollout!;
    assert.is(ro.halted, true, JSON.stringify(ro));
    assert.is(ro.state, 'halted');
    assert.ok(ro.haltReason && /failed/.test(ro.haltReason), ro.haltReason ?? '');
    assert.ok(ro.devicesFailed >= 2, `${ro.devicesFailed} failed`);
    assert.ok(ro.offered < 20 || ro.stageTimes.length === 1, 'the second stage was never offered');
    const code = { verify: 'FW_PAYLOAD_DIGEST', health: 'UPDATE_HEALTH', download: 'UPDATE_DOWNLOAD' }[mode];
    assert.ok((ro.failures[code] ?? 0) >= 1, JSON.stringify(ro.failures));
    assert.ok(r.invariants.some((i) => i.name === 'rollout-halted' && i.ok));
    assert.ok(r.invariants.some((i) => i.name === 'no-device-without-image' && i.ok));
  });
}

test.run();
