// `fleet rollout …` as a real child process, on the server host (--data) and through the operator API (--server
// with a release manager's credential): create, status --json and the readable table, pause/resume/abort, and the
// refusals with their exit codes and error lines. The running server acts on what the CLI wrote.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RolloutView } from '../../broker/src/admin/types.js';
import { createTestFleet, type TestFleet, waitFor } from '../helpers/fleet.js';
import { addOperator } from '../helpers/operators.js';
import { fakeUpdater, insertRelease, type FakeUpdater } from '../helpers/rollout-devices.js';
import { fleetCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
let releaseId: string;
const files = tmpDir('edgeward-rollout-cli-');
const credentials = { manager: join(files, 'manager.key'), viewer: join(files, 'viewer.key') };
const devices: FakeUpdater[] = [];

test.before(async () => {
  fleet = await createTestFleet(['gw-c1', 'gw-c2', 'gw-c3']);
  await fleet.start({ rolloutTickMs: 100 });
  releaseId = insertRelease(fleet.db, { version: '3.1.0' });
  writeFileSync(credentials.manager, (await addOperator(fleet.db, 'rita', 'release-manager')).credential);
  writeFileSync(credentials.viewer, (await addOperator(fleet.db, 'vera', 'viewer')).credential);
  for (const id of ['gw-c1', 'gw-c2']) {
    const d = fakeUpdater(fleet, id);
    await d.connect();
    devices.push(d);
  }
});
test.after(async () => {
  for (const d of devices) await d.close();
  await fleet.close();
});

const onHost = () => ['--data', fleet.dataDir];
const throughApi = (who: keyof typeof credentials = 'manager') => [
  ...['--server', `https://127.0.0.1:${fleet.server.httpPort}`],
  ...['--ca', join(fleet.dataDir, 'pki', 'ca.crt'), '--credential', credentials[who]],
];

let created: RolloutView;

test('create --json on the server host: the running server starts offering', async () => {
  const r = await fleetCli([
    'rollout',
    'create',
    ...onHost(),
    ...['--release', releaseId, '--devices', 'ids:gw-c1,gw-c2', '--stages', '50%,100%'],
    ...['--success-threshold', '100%', '--error-threshold', '20%', '--min-wait', '0s', '--json'],
  ]);
  assert.is(r.code, 0, r.output);
  created = JSON.parse(r.stdout) as RolloutView;
  assert.is(created.state, 'running');
  assert.is(created.devices, 2);
  assert.equal(created.stages, [50, 100]);
  assert.is(created.successThreshold, 1);
  assert.is(created.errorThreshold, 0.2);
  assert.is(created.minWaitMs, 0);
  await waitFor(() => devices.some((d) => d.offers.length > 0), 'an offer from the server');
});

test('status --json through the API, as a release manager; the readable status has the stage table', async () => {
  const [r, text, list] = await Promise.all([
    fleetCli(['rollout', 'status', String(created.id), ...throughApi(), '--json', '--devices']),
    fleetCli(['rollout', 'status', String(created.id), ...onHost()]),
    fleetCli(['rollout', 'list', ...throughApi()]),
  ]);
  assert.is(r.code, 0, r.output);
  const v = JSON.parse(r.stdout) as RolloutView;
  assert.is(v.id, created.id);
  assert.is(v.offered, 1);
  assert.equal(v.deviceList?.map((d) => d.deviceId).sort(), ['gw-c1', 'gw-c2']);
  assert.is(text.code, 0, text.output);
  assert.match(text.stdout, new RegExp(`^rollout ${created.id}: running, stage 1 of 2\n`));
  assert.match(text.stdout, /STAGE\s+SHARE\s+DEVICES\s+STARTED\s+ENDED/);
  assert.match(text.stdout, /Offered\s+1/);
  assert.is(list.code, 0, list.output);
  assert.match(
    list.stdout,
    new RegExp(`^${created.id}\\s+running\\s+1/2\\s+${releaseId.slice(0, 12)}\\s+3\\.1\\.0`, 'm'),
  );
});

test('pause, a refused second pause (exit 1), resume and abort', async () => {
  const pause = await fleetCli(['rollout', 'pause', String(created.id), ...throughApi(), '--json']);
  assert.is(pause.code, 0, pause.output);
  assert.is((JSON.parse(pause.stdout) as RolloutView).state, 'paused');
  const again = await fleetCli(['rollout', 'pause', String(created.id), ...onHost()]);
  assert.is(again.code, 1);
  assert.match(again.stderr, /^error FLEET_ROLLOUT_STATE: rollout \d+ is paused; it cannot pause\n$/);
  const resume = await fleetCli(['rollout', 'resume', String(created.id), ...onHost(), '--json']);
  assert.is((JSON.parse(resume.stdout) as RolloutView).state, 'running');
  const abort = await fleetCli(['rollout', 'abort', String(created.id), ...throughApi(), '--json']);
  assert.is(abort.code, 0, abort.output);
  assert.is((JSON.parse(abort.stdout) as RolloutView).state, 'aborted');
  await waitFor(() => devices.some((d) => d.offers.some((o) => o.action === 'cancel')), 'the cancel offer');
  // Both ways are in the operator audit trail.
  const trail = fleet.db
    .prepare(`SELECT action, via, outcome FROM operator_audit WHERE action LIKE 'rollout.%' ORDER BY id`)
    .all();
  assert.equal(trail, [
    { action: 'rollout.create', via: 'cli', outcome: 'ok' },
    { action: 'rollout.pause', via: 'api', outcome: 'ok' },
    { action: 'rollout.pause', via: 'cli', outcome: 'failed' },
    { action: 'rollout.resume', via: 'cli', outcome: 'ok' },
    { action: 'rollout.abort', via: 'api', outcome: 'ok' },
  ]);
});

test('refusals: a viewer (403), an unknown release, an unknown rollout, bad stages (usage, exit 2)', async () => {
  // Independent of each other: run at once.
  const [viewer, unknown, noRollout, stages, help] = await Promise.all([
    fleetCli(['rollout', 'create', ...throughApi('viewer'), '--release', releaseId]),
    fleetCli(['rollout', 'create', ...onHost(), '--release', 'a'.repeat(64)]),
    fleetCli(['rollout', 'status', '999', ...throughApi()]),
    fleetCli(['rollout', 'create', ...onHost(), '--release', releaseId, '--stages', '50%,10%']),
    fleetCli(['rollout', '--help']),
  ]);
  assert.is(viewer.code, 1);
  assert.match(viewer.stderr, /^error API_FORBIDDEN: /);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /^error FLEET_RELEASE_UNKNOWN: /);
  assert.is(noRollout.code, 1);
  assert.match(noRollout.stderr, /^error FLEET_ROLLOUT_UNKNOWN: /);
  assert.is(stages.code, 2);
  assert.is(help.code, 0);
  assert.match(help.stdout, /fleet rollout create --release ID/);
});

test.run();
