// The update client as the simulator uses it: createAgent in process with injected parts (memory store, memory A/B
// installer, a download function, a health hook) against a real fleet server. Also the offer rules: a failing
// download or health hook, a cancel before the install, a committed release offered again, a crash loop.
import { copyFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createAgent,
  createMemoryInstaller,
  createMemoryUpdateStore,
  createUpdateClient,
  type Agent,
  type DownloadFn,
  type UpdateStore,
} from '../../agent/src/index.js';
import { AgentError } from '../../agent/src/errors.js';
import { silentLogger } from '../../shared/src/index.js';
import { KIT_HARDWARE } from '../helpers/firmware.js';
import { testLogger, waitFor } from '../helpers/fleet.js';
import { createUpdateRig, type Bundle, type UpdateRig } from '../helpers/update-rig.js';

let rig: UpdateRig;
let good: Bundle;
const agents: Agent[] = [];
let rollout = 0;

test.before(async () => {
  rig = await createUpdateRig(['sim-001', 'sim-002', 'sim-003', 'sim-004', 'sim-005', 'sim-006']);
  good = rig.kit.bundle({ version: '2.0.0', sequence: 11 }, 32 * 1024);
});
test.after(async () => {
  for (const a of agents) await a.close();
  await rig?.close();
});

/** A download that "fetches" the bundle by copying it (what a simulator does), or fails as told. */
const copyDownload =
  (b: Bundle, fail?: () => Error | undefined): DownloadFn =>
  async (req) => {
    const err = fail?.();
    if (err) throw err;
    copyFileSync(b.path, req.file);
    req.onProgress?.(b.bytes.length, b.bytes.length);
  };

async function simAgent(
  id: string,
  parts: { download: DownloadFn; healthCheck?: () => Promise<void>; trust?: () => Uint8Array },
) {
  const installer = createMemoryInstaller({ version: '1.0.0', sequence: 10 });
  const store = createMemoryUpdateStore();
  const agent = await createAgent({
    config: rig.fleet.agentConfig(id, { scan: { enabled: false }, update: { healthCheck: { deadlineSeconds: 20 } } }),
    log: testLogger(),
    update: { store, installer, trust: rig.kit.trust, hardware: KIT_HARDWARE, ...parts },
  });
  agents.push(agent);
  return { agent, installer, store };
}

async function offerAndWait(id: string, b: Bundle, r = ++rollout) {
  const offer = rig.offer(b, r, '2.0.0');
  await waitFor(async () => {
    if (rig.states(id, r).length > 0) return true;
    await rig.publish(id, offer);
    await new Promise((res) => setTimeout(res, 150));
    return rig.states(id, r).length > 0;
  }, `${id} to take the offer`);
  return { r, offer, outcome: await waitFor(() => rig.outcome(id, r), `${id} outcome`, 20_000) };
}

test('memory parts: the offer is installed in the memory A/B slots and committed', async () => {
  const { agent, installer } = await simAgent('sim-001', { download: copyDownload(good) });
  assert.equal([agent.updateState, agent.firmwareVersion], ['Idle', '1.0.0']);
  const { r, outcome } = await offerAndWait('sim-001', good);
  assert.equal([outcome.state, outcome.reason_code], ['Committed', null]);
  // Every state was reported (progress and a re-answered duplicate offer may repeat some).
  assert.equal(
    [...new Set(rig.states('sim-001', r))],
    ['Offered', 'Downloading', 'Verifying', 'Installing', 'Rebooting', 'HealthCheck', 'Committed'],
  );
  await waitFor(() => agent.updateState === 'Idle', 'the update to end');
  assert.is(agent.firmwareVersion, '2.0.0');
  const st = installer.state();
  assert.equal([st.active, st.trial, st.slots.b?.version], ['b', false, '2.0.0']);
  // Offered again (a new rollout of the same release): answered with its outcome, nothing installed twice.
  const again = await offerAndWait('sim-001', good);
  assert.is(again.outcome.state, 'Committed');
  assert.equal(rig.states('sim-001', again.r), ['Committed']);
});

test('an injected download failure ends Failed with its code, on the old image', async () => {
  const { installer } = await simAgent('sim-002', {
    download: copyDownload(good, () => new AgentError('UPDATE_DOWNLOAD', 'simulated network failure')),
  });
  const { outcome } = await offerAndWait('sim-002', good);
  assert.equal([outcome.state, outcome.reason_code], ['Failed', 'UPDATE_DOWNLOAD']);
  assert.equal([installer.state().active, installer.state().trial], ['a', false]);
});

test('an injected health failure rolls back', async () => {
  const { installer } = await simAgent('sim-003', {
    download: copyDownload(good),
    healthCheck: () => Promise.reject(new Error('simulated bad image')),
  });
  const { outcome } = await offerAndWait('sim-003', good);
  assert.equal([outcome.state, outcome.reason_code], ['RolledBack', 'UPDATE_HEALTH']);
  assert.equal([installer.state().active, installer.state().trial], ['a', false]);
});

test('a cancel before the install ends Failed (UPDATE_CANCELLED); the old image never stopped', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { installer } = await simAgent('sim-004', {
    download: async (req) => {
      await gate;
      await copyDownload(good)(req);
    },
  });
  const r = ++rollout;
  const offer = rig.offer(good, r, '2.0.0');
  await waitFor(async () => {
    await rig.publish('sim-004', offer);
    await new Promise((res) => setTimeout(res, 150));
    return rig.states('sim-004', r).includes('Downloading');
  }, 'the download to start');
  await rig.publish('sim-004', { ...offer, id: 'cancel-0001', action: 'cancel' });
  await new Promise((res) => setTimeout(res, 300));
  release();
  const outcome = await waitFor(() => rig.outcome('sim-004', r), 'the outcome');
  assert.equal([outcome.state, outcome.reason_code], ['Failed', 'UPDATE_CANCELLED']);
  assert.equal(installer.state().active, 'a');
});

test('a crash loop: past maxStarts the update is abandoned (Failed before the switch, UPDATE_LOOP)', async () => {
  const store: UpdateStore = createMemoryUpdateStore();
  const installer = createMemoryInstaller({ version: '1.0.0', sequence: 10 });
  store.save({
    v: 1,
    state: 'Downloading',
    rolloutId: 1,
    releaseId: good.id,
    url: 'https://127.0.0.1:1/x',
    token: 'x'.repeat(32),
    size: good.bytes.length,
    done: 0,
    from: { slot: 'a', version: '1.0.0', sequence: 10 },
    boots: 3,
  });
  const sent: Uint8Array[] = [];
  const client = createUpdateClient({
    store,
    installer,
    download: () => Promise.reject(new Error('must not download')),
    trust: rig.kit.trust,
    agentVersion: '0.1.0',
    tls: rig.fleet.credentials('sim-005'),
    workDir: rig.dir,
    log: silentLogger,
    now: Date.now,
    send: (p) => void sent.push(p),
    restartConnection: async () => {},
    onFirmware: () => {},
    healthDeadlineMs: 1000,
    maxStarts: 3,
  });
  await client.start();
  await client.idle();
  const rec = store.load();
  assert.equal([rec?.state, rec?.outcome, rec?.reasonCode], ['Idle', 'Failed', 'UPDATE_LOOP']);
  assert.ok(sent.length >= 1, 'the outcome was queued');
});

test('an unreadable trust document refuses the offer (UPDATE_TRUST); the agent keeps running', async () => {
  const { agent, installer } = await simAgent('sim-006', {
    download: copyDownload(good),
    trust: () => {
      throw new AgentError('UPDATE_TRUST', 'cannot read the trust document /nowhere: ENOENT');
    },
  });
  const { outcome } = await offerAndWait('sim-006', good);
  assert.equal([outcome.state, outcome.reason_code], ['Failed', 'UPDATE_TRUST']);
  assert.is(installer.state().active, 'a');
  assert.ok(agent.connected);
});

test.run();
