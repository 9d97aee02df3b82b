// Staged rollouts end to end on a real fleet server: fake devices (real MQTT clients with their certificates) take
// offers and answer with update/status reports; the engine advances stages, halts on failures, pauses, resumes,
// aborts with cancels, survives a server restart and re-offers with a fresh token on resubscription.
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAdminService } from '../../broker/src/admin/local.js';
import type { RolloutAdmin } from '../../broker/src/admin/types.js';
import { loadCa } from '../../broker/src/fleet/data-dir.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { fakeUpdater, insertRelease, type Answer, type FakeUpdater } from '../helpers/rollout-devices.js';

let fleet: TestFleet;
let rollouts: RolloutAdmin;
let releaseId: string;
const devices: FakeUpdater[] = [];
const TRUST = Buffer.from('trust-document-v1');

test.before(async () => {
  fleet = await createTestFleet();
  await fleet.start({ rolloutTickMs: 100, auditWindowMs: 0 });
  // As `fleet … --data` does: another connection; the server notices its changes (data_version).
  rollouts = createAdminService({ db: fleet.db, loadCa: () => loadCa(fleet.dataDir) }).forCaller({
    actor: 'test',
    devices: null,
  }).rollouts;
  releaseId = insertRelease(fleet.db, { hardware: 'test-gw', version: '2.0.0' });
  fleet.db
    .prepare('INSERT INTO trust_documents (version, document, sha256, installed_at) VALUES (1, ?, ?, ?)')
    .run(TRUST, createHash('sha256').update(TRUST).digest('hex'), Date.now());
});
test.after(async () => {
  for (const d of devices) await d.close();
  await fleet.close();
});

/** `n` registered, connected devices named `prefix-00…`, subscribed to their update topic. */
async function group(prefix: string, n: number, answer: Answer = 'manual'): Promise<FakeUpdater[]> {
  const out: FakeUpdater[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}-${String(i).padStart(2, '0')}`;
    await fleet.addDevice(id);
    const d = fakeUpdater(fleet, id, answer);
    await d.connect();
    out.push(d);
    devices.push(d);
  }
  return out;
}
/** The error `fn` fails with (the test fails when it does not). */
async function refused(fn: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a refusal');
}
const ids = (g: FakeUpdater[]) => `ids:${g.map((d) => d.id).join(',')}`;
const installs = (g: FakeUpdater[]) => g.flatMap((d) => d.offers.filter((o) => o.action === 'install'));
const offered = (g: FakeUpdater[]) => g.filter((d) => d.offers.some((o) => o.action === 'install'));
const row = (rolloutId: number, deviceId: string) =>
  fleet.db
    .prepare('SELECT state, token_hash, token_expires FROM rollout_devices WHERE rollout_id = ? AND device_id = ?')
    .get(rolloutId, deviceId) as { state: string; token_hash: Buffer | null; token_expires: number | null };

test('stages advance as devices commit, and the rollout completes; offers carry a hashed token', async () => {
  const g = await group('st', 10);
  const view = await rollouts.create({ releaseId, selector: ids(g), stages: [10, 50, 100], minWaitMs: 0 });
  assert.is(view.state, 'running');
  assert.is(view.devices, 10);
  // Stage 0: ceil(10 % × 10) = 1 device.
  const [first] = await waitFor(() => (offered(g).length === 1 ? offered(g) : undefined), 'the first offer');
  await fleet.server.rollouts.tick();
  assert.is(offered(g).length, 1, 'stage 0 covers one device');
  const offer = first!.offers[0]!;
  assert.is(offer.rolloutId, view.id);
  assert.is(offer.releaseId, releaseId);
  assert.is(offer.version, '2.0.0');
  assert.is(offer.size, 4096);
  assert.match(offer.url!, new RegExp(`^https://127\\.0\\.0\\.1:\\d+/v1/releases/${releaseId}/bundle$`));
  assert.equal(
    offer.trust?.map((t) => Buffer.from(t).toString()),
    [TRUST.toString()],
  );
  // Only the token's hash is kept.
  const stored = row(view.id, first!.id);
  assert.equal(stored.token_hash, createHash('sha256').update(offer.token!).digest());
  assert.is(stored.token_expires, offer.tokenExpires);
  const tokenFound = fleet.db
    .prepare(`SELECT count(*) FROM rollout_devices WHERE CAST(token_hash AS TEXT) = ? OR reason = ?`)
    .pluck()
    .get(offer.token, offer.token);
  assert.is(tokenFound, 0);

  await first!.report('Downloading');
  await waitFor(() => row(view.id, first!.id).state === 'Downloading', 'Downloading stored');
  await first!.report('Committed');
  // Stage 1: 5 devices in all.
  await waitFor(() => offered(g).length === 5, 'stage 1 offers');
  await fleet.server.rollouts.tick();
  assert.is(offered(g).length, 5);
  assert.is((await rollouts.get(view.id)).stage, 1);
  for (const d of g) d.answer = 'commit';
  for (const d of offered(g)) if (d !== first) await d.report('Committed');
  const done = await waitFor(async () => {
    const v = await rollouts.get(view.id, { devices: true });
    return v.state === 'completed' ? v : undefined;
  }, 'completed');
  assert.is(done.updated, 10);
  assert.is(installs(g).length, 10, 'each device was offered once');
  assert.equal(
    done.stageTimes.map((s) => [s.stage, s.devices, s.endedAt !== null]),
    [
      [0, 1, true],
      [1, 5, true],
      [2, 10, true],
    ],
  );
  assert.equal(
    done.deviceList!.map((d) => d.stage),
    [0, 1, 1, 1, 1, 2, 2, 2, 2, 2],
  );
});

test('failures over the error threshold halt it: reason, event, no more offers; a resume accepts them', async () => {
  const g = await group('ht', 10);
  const view = await rollouts.create({
    releaseId,
    selector: ids(g),
    stages: [30, 100],
    errorThreshold: 0.1,
    successThreshold: 0.3,
    minWaitMs: 0,
  });
  await waitFor(() => offered(g).length === 3, 'stage 0 offers');
  const [a, b] = offered(g);
  await a!.report('Failed', { reasonCode: 'FW_PAYLOAD_DIGEST' });
  await b!.report('RolledBack', { reasonCode: 'UPDATE_HEALTH' });
  const halted = await waitFor(async () => {
    const v = await rollouts.get(view.id);
    return v.state === 'halted' ? v : undefined;
  }, 'halted');
  assert.match(halted.haltReason!, /^[12] of 3 offered devices failed \(\d+(\.\d)? % > 10 %\): /);
  assert.match(halted.haltReason!, /FW_PAYLOAD_DIGEST ×1/);
  const events = fleet.db
    .prepare(`SELECT detail FROM audit WHERE event = 'rollout.halted'`)
    .pluck()
    .all()
    .map((d) => JSON.parse(d as string) as { rolloutId: number; reason: string });
  assert.ok(events.some((e) => e.rolloutId === view.id && e.reason === halted.haltReason));
  await fleet.server.rollouts.tick();
  assert.is(offered(g).length, 3, 'no offer after the halt');
  // A device on its way carries on.
  const [, , c] = offered(g);
  await c!.report('Committed');
  await waitFor(() => row(view.id, c!.id).state === 'Committed', 'a halted rollout still records outcomes');
  await fleet.server.rollouts.tick();
  assert.is((await rollouts.get(view.id)).stage, 0, 'a halted rollout does not advance');
  // An operator resumes it: the failures so far are accepted; the rest commit and it completes.
  for (const d of g) d.answer = 'commit';
  assert.is((await rollouts.resume(view.id)).state, 'running');
  const done = await waitFor(async () => {
    const v = await rollouts.get(view.id);
    return v.state === 'completed' ? v : undefined;
  }, 'completed after the resume');
  assert.is(done.updated, 8);
  assert.is(done.failed, 2);
});

test('pause stops new offers while devices already updating finish; resume continues to the end', async () => {
  const g = await group('pa', 4);
  const view = await rollouts.create({ releaseId, selector: ids(g), stages: [25, 100], minWaitMs: 0 });
  const [first] = await waitFor(() => (offered(g).length === 1 ? offered(g) : undefined), 'the first offer');
  assert.is((await rollouts.pause(view.id)).state, 'paused');
  await first!.report('Committed');
  await waitFor(() => row(view.id, first!.id).state === 'Committed', 'the paused device commits');
  await fleet.server.rollouts.tick();
  const paused = await rollouts.get(view.id);
  assert.is(paused.stage, 0, 'no stage change while paused');
  assert.is(offered(g).length, 1, 'no offer while paused');
  assert.is((await refused(() => rollouts.pause(view.id))).code, 'FLEET_ROLLOUT_STATE');
  for (const d of g) d.answer = 'commit';
  assert.is((await rollouts.resume(view.id)).state, 'running');
  await waitFor(async () => (await rollouts.get(view.id)).state === 'completed', 'completed after resume');
  assert.is(installs(g).length, 4);
});

test('abort cancels devices that have not started installing; one installing finishes', async () => {
  const g = await group('ab', 6);
  const view = await rollouts.create({ releaseId, selector: ids(g), stages: [50, 100], minWaitMs: 0 });
  const [downloading, installing, untouched] = await waitFor(
    () => (offered(g).length === 3 ? offered(g) : undefined),
    'stage 0 offers',
  );
  await downloading!.report('Downloading');
  await installing!.report('Installing');
  await waitFor(
    () => row(view.id, downloading!.id).state === 'Downloading' && row(view.id, installing!.id).state === 'Installing',
    'progress stored',
  );
  const aborted = await rollouts.abort(view.id);
  assert.is(aborted.state, 'aborted');
  const cancels = (d: FakeUpdater) => d.offers.filter((o) => o.action === 'cancel');
  await waitFor(() => cancels(downloading!).length === 1 && cancels(untouched!).length === 1, 'cancel offers');
  assert.equal(cancels(downloading!)[0]!.rolloutId, view.id);
  assert.is(cancels(installing!).length, 0, 'an installing device is not cancelled');
  assert.is(row(view.id, downloading!.id).state, 'Cancelled');
  assert.is(row(view.id, downloading!.id).token_hash, null, 'the download authorisation is withdrawn');
  assert.is(row(view.id, untouched!.id).state, 'Cancelled');
  await installing!.report('Committed');
  await waitFor(() => row(view.id, installing!.id).state === 'Committed', 'the installing device commits');
  await fleet.server.rollouts.tick();
  assert.is(offered(g).length, 3, 'no offers after abort');
  const final = await rollouts.get(view.id);
  assert.is(final.counts.Cancelled, 5);
  assert.is(final.counts.Committed, 1);
  // A device whose offer was withdrawn hears it again when it reconnects (its authorisation had not expired).
  await downloading!.close();
  await downloading!.connect();
  await waitFor(() => cancels(downloading!).length === 2, 'the cancel again on resubscription');
});

test('a device that resubscribes mid-update gets a fresh token; the old one is no longer valid', async () => {
  const [d] = await group('rs', 1);
  const view = await rollouts.create({ releaseId, selector: ids([d!]), stages: [100], minWaitMs: 0 });
  await waitFor(() => installs([d!]).length === 1, 'the offer');
  await d!.report('Downloading');
  await waitFor(() => row(view.id, d!.id).state === 'Downloading', 'Downloading');
  const before = row(view.id, d!.id).token_hash;
  await d!.close();
  await d!.connect();
  await waitFor(() => installs([d!]).length === 2, 'the offer again');
  const [o1, o2] = installs([d!]);
  assert.is.not(o2!.token, o1!.token);
  const after = row(view.id, d!.id);
  assert.equal(after.token_hash, createHash('sha256').update(o2!.token!).digest());
  assert.not.equal(after.token_hash, before);
  assert.is(after.state, 'Downloading', 'the re-offer keeps its progress');
  await d!.report('Committed');
  await waitFor(async () => (await rollouts.get(view.id)).state === 'completed', 'completed');
});

test('a device not offered the release yet cannot report itself through a stage', async () => {
  const g = await group('np', 2);
  const view = await rollouts.create({ releaseId, selector: ids(g), stages: [50, 100], minWaitMs: 0 });
  const [first] = await waitFor(() => (offered(g).length === 1 ? offered(g) : undefined), 'the first offer');
  const other = g.find((d) => d !== first)!;
  await other.report('Committed', { rolloutId: view.id, releaseId });
  await first!.report('Downloading');
  await waitFor(() => row(view.id, first!.id).state === 'Downloading', 'the offered device reports');
  assert.is(row(view.id, other.id).state, 'Pending', 'the report of a device not offered is kept, not applied');
  const kept = fleet.db.prepare('SELECT count(*) FROM update_status WHERE device_id = ?').pluck().get(other.id);
  assert.is(kept, 1);
  await rollouts.abort(view.id);
});

test('a server restart in the middle of a rollout: it continues where it was and completes', async () => {
  const g = await group('rr', 6);
  const view = await rollouts.create({ releaseId, selector: ids(g), stages: [50, 100], minWaitMs: 0 });
  const stage0 = await waitFor(() => (offered(g).length === 3 ? offered(g) : undefined), 'stage 0 offers');
  await stage0[0]!.report('Committed');
  await stage0[1]!.report('Downloading');
  await waitFor(() => row(view.id, stage0[1]!.id).state === 'Downloading', 'progress stored');
  for (const d of g) await d.close();
  await fleet.server.close();
  await fleet.start({ rolloutTickMs: 100, auditWindowMs: 0 });
  for (const d of g) d.answer = 'commit';
  for (const d of g) await d.connect();
  // The two devices on their way get offers again (fresh tokens); then stage 1.
  const done = await waitFor(async () => {
    const v = await rollouts.get(view.id);
    return v.state === 'completed' ? v : undefined;
  }, 'completed after the restart');
  assert.is(done.updated, 6);
  assert.is(installs([stage0[0]!]).length, 1, 'a committed device is not offered again');
  assert.is(installs([stage0[1]!]).length, 2);
  assert.equal(
    done.stageTimes.map((s) => s.devices),
    [3, 6],
  );
});

test('refusals: unknown release, empty selection, a device in another open rollout, bad stages', async () => {
  const g = await group('rf', 2);
  assert.is(
    (await refused(() => rollouts.create({ releaseId: 'f'.repeat(64), selector: ids(g) }))).code,
    'FLEET_RELEASE_UNKNOWN',
  );
  assert.is(
    (await refused(() => rollouts.create({ releaseId, selector: 'type:no-such-type' }))).code,
    'FLEET_ROLLOUT_INVALID',
  );
  const badStages = await refused(() => rollouts.create({ releaseId, selector: ids(g), stages: [50, 10] }));
  assert.is(badStages.code, 'FLEET_ROLLOUT_INVALID');
  assert.match(badStages.message, /rise/);
  const held = await rollouts.create({ releaseId, selector: `ids:${g[0]!.id}`, minWaitMs: 60_000 });
  await rollouts.pause(held.id);
  const busy = await refused(() => rollouts.create({ releaseId, selector: ids(g) }));
  assert.is(busy.code, 'FLEET_ROLLOUT_CONFLICT');
  assert.ok(busy.message.includes(`${g[0]!.id} (rollout ${held.id})`), busy.message);
  // Hardware: a device known to be other hardware is not offered a release for this one.
  fleet.db.prepare(`UPDATE devices SET hardware = 'other-gw' WHERE id = ?`).run(g[1]!.id);
  const hardware = await refused(() => rollouts.create({ releaseId, selector: `ids:${g[1]!.id}` }));
  assert.is(hardware.code, 'FLEET_ROLLOUT_INVALID');
  assert.match(hardware.message, /other-gw/);
  await rollouts.abort(held.id);
  assert.is((await refused(() => rollouts.resume(held.id))).code, 'FLEET_ROLLOUT_STATE');
});

test.run();
