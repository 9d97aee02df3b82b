// Firmware update end to end with nothing stood in for: the real agent process, a fleet server with the fleet's
// trust document, a release published through the admin layer, a rollout created there, the server's engine
// offering it, the download listener serving it over mutual TLS with the device's token, and the agent verifying it
// as it arrives, installing it to its inactive slot, switching, passing its health check and committing. The
// server learns every state; `iot-agent status` shows the new firmware.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCliAdmin } from '../../broker/src/admin/cli-admin.js';
import type { FleetAdmin } from '../../broker/src/admin/types.js';
import { readBootFile, slotPath } from '../../agent/src/update/index.js';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/fleet.js';
import { agentCli } from '../helpers/run.js';
import { createUpdateRig, type UpdateRig } from '../helpers/update-rig.js';

const ID = 'gw-e2e';
let rig: UpdateRig;
let admin: FleetAdmin;
let agent: AgentProcess | undefined;

test.before(async () => {
  rig = await createUpdateRig([ID]);
  admin = createCliAdmin(rig.fleet.dataDir, 'test');
  await admin.trust.set(rig.kit.trust);
});
test.after(async () => {
  await agent?.kill('SIGTERM');
  admin?.close();
  await rig?.close();
});

test('a published release rolled out by the server reaches the real agent, which commits it', async () => {
  const bundle = rig.kit.bundle({ version: '2.0.0', sequence: 11 }, 3 * 1024 * 1024);
  const { release } = await admin.releases.publish({ path: bundle.path });
  assert.is(release.id, bundle.id, 'content addressed');
  const config = rig.configFile(ID);
  agent = startAgentProcess(config);
  await waitFor(() => rig.fleet.server.sessions.get(ID), 'the agent to connect');
  const rollout = await admin.rollouts.create({ releaseId: release.id, selector: `ids:${ID}`, minWaitMs: 0 });

  const done = await waitFor(
    async () => {
      const r = await admin.rollouts.get(rollout.id);
      return r.state === 'completed' ? r : undefined;
    },
    'the rollout to complete',
    60_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${rig.states(ID, rollout.id).join(' ')}\n${agent!.output().slice(-3000)}`);
  });
  assert.is(done.updated, 1);
  assert.is(done.failed, 0);
  // Every state reached the server, in order (progress reports may repeat Downloading).
  const states = rig.states(ID, rollout.id).filter((s, i, all) => s !== all[i - 1]);
  assert.equal(states, ['Offered', 'Downloading', 'Verifying', 'Installing', 'Rebooting', 'HealthCheck', 'Committed']);
  // The gateway runs the new image from its other slot, committed, byte for byte.
  const stateDir = join(rig.fleet.deviceDir(ID), 'state');
  const boot = readBootFile(stateDir)!;
  assert.equal([boot.active, boot.trial, boot.slots[boot.active]?.version], ['b', false, '2.0.0']);
  const sha = createHash('sha256')
    .update(readFileSync(slotPath(stateDir, 'b')))
    .digest('hex');
  assert.is(sha, createHash('sha256').update(bundle.payload).digest('hex'));
  // The registry and the agent's own status say so.
  await waitFor(
    () =>
      rig.fleet.db.prepare('SELECT firmware_version FROM devices WHERE id = ?').pluck().get(ID) === '2.0.0' ||
      undefined,
    'the registry to show 2.0.0',
  );
  const status = await agentCli(['status', '--config', config]);
  assert.match(status.stdout, /2\.0\.0/);
  // The download listener refused nothing: the device's certificate and its token were enough.
  const denied = rig.fleet.db.prepare(`SELECT count(*) FROM audit WHERE event = 'download.denied'`).pluck().get();
  assert.is(denied, 0);
});

test.run();
