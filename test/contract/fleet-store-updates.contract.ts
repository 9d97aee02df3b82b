// The fleet store contract of the update channel, run against both engines: releases recorded with their bundle
// bytes and read back in bounded chunks, trust documents, and staged rollouts (creation and its conflicts, the
// transition table in code and in the schema, stages, offers, update reports applied by the ingest, cancels,
// download grants), including two callers moving the same rollout at once: one wins, the other changes nothing.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTrust } from '../../firmware-tools/src/index.js';
import { generateKeyPair } from '../../shared/src/crypto/index.js';
import type { UpdateState } from '../../shared/src/index.js';
import type { FleetStore, StoreItem } from '../../broker/src/store/index.js';
import { tmpDir } from '../helpers/tmp.js';
import { cert, rejectsWith, type StoreUnderTest } from './fleet-store.contract.js';

const T0 = 1_767_000_000_000;
const YEAR = 365 * 86_400_000;
const MiB = 1 << 20;
let msgs = 0;

interface BundleFile {
  readonly path: string;
  readonly id: string;
  readonly bytes: Buffer;
}

function bundleFile(bytes: Buffer): BundleFile {
  const path = join(tmpDir('edgeward-bundle-'), 'bundle.ewfw');
  writeFileSync(path, bytes);
  return { path, id: createHash('sha256').update(bytes).digest('hex'), bytes };
}

/** Two bundles whose ids share their first 8 hex characters (a 32-bit birthday search: ~65,000 hashes). */
function twoWithOnePrefix(): [BundleFile, BundleFile] {
  const seen = new Map<string, Buffer>();
  for (;;) {
    const b = randomBytes(12);
    const prefix = createHash('sha256').update(b).digest('hex').slice(0, 8);
    const other = seen.get(prefix);
    if (other) return [bundleFile(other), bundleFile(b)];
    seen.set(prefix, b);
  }
}

const release = (b: BundleFile, sequence: number, publishedAt = T0) => ({
  id: b.id,
  hardware: 'rpi4',
  version: `1.${sequence}.0`,
  sequence,
  size: b.bytes.length,
  payloadSize: 900,
  payloadSha256: 'ab'.repeat(32),
  manifest: new Uint8Array([0xa1, 0x00]),
  signers: ['kid-a'],
  expiresAt: T0 + YEAR,
  publishedAt,
  publishedBy: 'alice',
});

async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<{ bytes: Buffer; largest: number }> {
  const parts: Buffer[] = [];
  let largest = 0;
  for await (const c of chunks) {
    parts.push(Buffer.from(c));
    largest = Math.max(largest, c.length);
  }
  return { bytes: Buffer.concat(parts), largest };
}

const update = (
  deviceId: string,
  rolloutId: number,
  releaseId: string,
  state: UpdateState,
  id = `u-${++msgs}`,
  reasonCode?: string,
): StoreItem => ({
  kind: 'message',
  deviceId,
  receivedAt: T0 + 10,
  decoded: {
    kind: 'update/status',
    message: {
      v: 1,
      id,
      ts: T0 + 10,
      rolloutId,
      releaseId,
      state,
      ...(reasonCode ? { reasonCode, reason: `failed: ${reasonCode}` } : {}),
    },
  },
});

const tokenHash = (t: string) => createHash('sha256').update(t).digest();

export function updateChannelContract(name: string, make: () => Promise<StoreUnderTest>): void {
  const t = suite(`fleet store contract, update channel: ${name}`);
  let open: StoreUnderTest[] = [];
  const fresh = async (...devices: string[]) => {
    const u = await make();
    open.push(u);
    for (const [i, d] of devices.entries()) await u.store.registry.addDevice(d, 'gateway', cert(`s-${d}-${i}`), T0);
    return u;
  };
  t.after.each(async () => {
    for (const u of open) await u.store.close();
    open = [];
  });
  /** A recorded release of a small random bundle; returns its id. */
  const published = async (store: FleetStore, sequence = 1) => {
    const b = bundleFile(randomBytes(3000));
    await store.releases.record(release(b, sequence), b.path);
    return b.id;
  };
  const states = async (store: FleetStore, id: number) =>
    Object.fromEntries(
      (await store.rollouts.view(id, { devices: true })).deviceList!.map((d) => [d.deviceId, d.state]),
    );

  t('releases: recorded with their bytes, once per hardware and sequence, by id prefix, newest first', async () => {
    const { store } = await fresh();
    // 2.5 MiB: three chunks on PostgreSQL, read back one bounded chunk at a time.
    const big = bundleFile(randomBytes(2.5 * MiB));
    const small = bundleFile(randomBytes(1000));
    await store.releases.record(release(big, 1, T0), big.path);
    await store.releases.record(release(small, 2, T0 + 1), small.path);
    const back = await readAll(store.releases.bundle(big.id));
    assert.ok(back.bytes.equals(big.bytes), 'the bundle bytes differ');
    assert.ok(back.largest <= MiB, `a chunk of ${back.largest} bytes`);
    assert.ok((await readAll(store.releases.bundle(small.id))).bytes.equals(small.bytes));
    const clash = bundleFile(randomBytes(10));
    await rejectsWith(store.releases.record(release(clash, 2, T0 + 2), clash.path), 'FLEET_RELEASE_CONFLICT');
    await rejectsWith(store.releases.record(release(small, 9, T0 + 2), small.path), 'FLEET_RELEASE_CONFLICT');
    // Bytes that are not the release's are refused, and nothing of it is kept.
    const liar = { ...release(bundleFile(randomBytes(10)), 7), id: 'e'.repeat(64) };
    await rejectsWith(store.releases.record(liar, small.path), 'FLEET_STORE_CONSTRAINT');
    await rejectsWith(store.releases.get('e'.repeat(64)), 'FLEET_RELEASE_UNKNOWN');
    await rejectsWith(readAll(store.releases.bundle('e'.repeat(64))), 'FLEET_RELEASE_UNKNOWN');
    assert.equal(
      (await store.releases.list()).map((r) => r.sequence),
      [2, 1],
    );
    const got = await store.releases.get(small.id.slice(0, 8).toUpperCase());
    assert.equal([got.id, got.version, got.signers, got.publishedBy], [small.id, '1.2.0', ['kid-a'], 'alice']);
    assert.is(got.size, 1000);
    await rejectsWith(store.releases.get('abc'), 'FLEET_RELEASE_UNKNOWN');
    const [x, y] = twoWithOnePrefix();
    await store.releases.record(release(x, 3), x.path);
    await store.releases.record(release(y, 4), y.path);
    await rejectsWith(store.releases.get(x.id.slice(0, 8)), 'FLEET_RELEASE_AMBIGUOUS');
    assert.is((await store.releases.get(y.id)).sequence, 4);
  });

  t('trust documents: the first verifies alone, the same again is no change, a stranger is refused', async () => {
    const { store } = await fresh();
    assert.equal(await store.releases.trustDocuments(), []);
    const root = generateKeyPair();
    const doc = createTrust({ rootSigners: [root], releaseKeys: [generateKeyPair().publicKey] });
    const first = await store.releases.installTrust(doc, 'alice', Date.now());
    assert.equal([first.installed, first.trust.version, first.trust.installedBy], [true, 1, 'alice']);
    const again = await store.releases.installTrust(doc, 'bob', Date.now());
    assert.equal([again.installed, again.trust.installedBy], [false, 'alice']);
    // Another fleet's version 1 does not chain from this one.
    const stranger = createTrust({ rootSigners: [generateKeyPair()], releaseKeys: [generateKeyPair().publicKey] });
    let refused = false;
    await store.releases.installTrust(stranger, 'mallory', Date.now()).catch(() => (refused = true));
    assert.ok(refused, 'a document that does not chain is refused');
    const docs = await store.releases.trustDocuments();
    assert.equal(
      docs.map((d) => Buffer.from(d).equals(Buffer.from(doc))),
      [true],
    );
    assert.equal(
      (await store.releases.listTrust()).map((v) => [v.version, v.sha256]),
      [[1, first.trust.sha256]],
    );
    assert.equal((await store.rollouts.trustDocuments(8)).length, 1);
  });

  t('rollouts: created in a deterministic order; empty and conflicting selections are refused', async () => {
    const devices = ['gw-1', 'gw-2', 'gw-3', 'gw-4'];
    const { store } = await fresh(...devices);
    const releaseId = await published(store);
    await rejectsWith(store.rollouts.create({ releaseId: 'f'.repeat(64) }, 'alice', T0), 'FLEET_RELEASE_UNKNOWN');
    await rejectsWith(
      store.rollouts.create({ releaseId, selector: 'type:none' }, 'alice', T0),
      'FLEET_ROLLOUT_INVALID',
    );
    await rejectsWith(
      store.rollouts.create({ releaseId, selector: 'ids:gw-1,gw-nobody' }, 'alice', T0),
      'FLEET_ROLLOUT_INVALID',
    );
    await rejectsWith(store.rollouts.create({ releaseId, stages: [50, 40] }, 'alice', T0), 'FLEET_ROLLOUT_INVALID');
    const id = await store.rollouts.create({ releaseId, selector: 'ids:gw-1,gw-2', stages: [50, 100] }, 'alice', T0);
    const v = await store.rollouts.view(id, { devices: true });
    assert.equal(
      [v.state, v.stage, v.devices, v.releaseId, v.createdBy, v.hardware],
      ['running', 0, 2, releaseId, 'alice', 'rpi4'],
    );
    assert.equal(
      v.deviceList!.map((d) => [d.position, d.stage, d.state]),
      [
        [0, 0, 'Pending'],
        [1, 1, 'Pending'],
      ],
    );
    assert.equal(v.stageTimes, [{ stage: 0, devices: 1, startedAt: T0, endedAt: null }]);
    assert.is(v.counts.Pending, 2);
    try {
      await store.rollouts.create({ releaseId, selector: 'all' }, 'bob', T0);
      assert.unreachable('a device in an open rollout was taken again');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'FLEET_ROLLOUT_CONFLICT');
      const busy = (err as { details?: { devices: { deviceId: string }[] } }).details!.devices;
      assert.equal(busy.map((b) => b.deviceId).sort(), ['gw-1', 'gw-2']);
    }
    const other = await store.rollouts.create({ releaseId, selector: 'ids:gw-3' }, 'bob', T0 + 1);
    assert.equal(
      (await store.rollouts.list()).map((r) => r.id),
      [other, id],
    );
    assert.equal(await store.rollouts.runningIds(), [id, other]);
    await rejectsWith(store.rollouts.get(9999), 'FLEET_ROLLOUT_UNKNOWN');
    // An ended rollout frees its devices.
    await store.rollouts.transition(id, 'abort', T0 + 2);
    await store.rollouts.create({ releaseId, selector: 'ids:gw-1,gw-4' }, 'carol', T0 + 3);
  });

  t('rollouts: two creations of the same devices at once: one is made, the other refused', async () => {
    const { store } = await fresh('gw-1', 'gw-2', 'gw-3');
    const releaseId = await published(store);
    const made = await Promise.allSettled([
      store.rollouts.create({ releaseId, selector: 'ids:gw-1,gw-2' }, 'alice', T0),
      store.rollouts.create({ releaseId, selector: 'ids:gw-2,gw-3' }, 'bob', T0),
    ]);
    assert.equal(made.map((m) => m.status).sort(), ['fulfilled', 'rejected']);
    const lost = made.find((m) => m.status === 'rejected') as PromiseRejectedResult;
    assert.is((lost.reason as { code?: string }).code, 'FLEET_ROLLOUT_CONFLICT');
    assert.is((await store.rollouts.list()).length, 1);
  });

  t('rollouts: the transition table, in the store and in the schema', async () => {
    const { store, exec } = await fresh('gw-1');
    const releaseId = await published(store);
    const id = await store.rollouts.create({ releaseId, selector: 'ids:gw-1' }, 'alice', T0);
    assert.is(await store.rollouts.transition(id, 'pause', T0 + 1), 'paused');
    await rejectsWith(store.rollouts.transition(id, 'pause', T0 + 2), 'FLEET_ROLLOUT_STATE');
    await rejectsWith(store.rollouts.transition(id, 'halt', T0 + 2), 'FLEET_ROLLOUT_STATE');
    assert.is(await store.rollouts.transition(id, 'resume', T0 + 3), 'running');
    assert.is(await store.rollouts.transition(id, 'halt', T0 + 4, 'too many failures'), 'halted');
    assert.is((await store.rollouts.view(id)).haltReason, 'too many failures');
    assert.is(await store.rollouts.transition(id, 'resume', T0 + 5), 'running');
    assert.is(await store.rollouts.transition(id, 'complete', T0 + 6), 'completed');
    const done = await store.rollouts.view(id);
    assert.equal(
      done.stageTimes.map((s) => s.endedAt),
      [T0 + 6],
    );
    await rejectsWith(store.rollouts.transition(id, 'resume', T0 + 7), 'FLEET_ROLLOUT_STATE');
    await rejectsWith(store.rollouts.transition(9999, 'pause', T0), 'FLEET_ROLLOUT_UNKNOWN');
    // No writer skips the table: the schema refuses the move too.
    let refused: unknown;
    await exec(`UPDATE rollouts SET state = 'running' WHERE id = ${id}`).catch((err: unknown) => (refused = err));
    assert.match(String((refused as Error | undefined)?.message), /transition not allowed/);
    assert.is((await store.rollouts.get(id)).state, 'completed');
  });

  t(
    'rollouts: two callers moving one rollout at once: one moves it, the other is refused and changes nothing',
    async () => {
      const { store } = await fresh('gw-1', 'gw-2');
      const releaseId = await published(store);
      const id = await store.rollouts.create({ releaseId, selector: 'all', stages: [50, 100], minWaitMs: 0 }, null, T0);
      const r = await store.rollouts.get(id);
      const advanced = await Promise.all([
        store.rollouts.advanceStage(r, T0 + 1),
        store.rollouts.advanceStage(r, T0 + 2),
      ]);
      assert.equal(advanced.sort(), [false, true]);
      const after = await store.rollouts.get(id);
      assert.is(after.stage, 1);
      assert.equal(
        after.stageTimes.map((s) => [s.stage, s.devices, s.endedAt === null]),
        [
          [0, 1, false],
          [1, 2, true],
        ],
      );
      const moves = await Promise.allSettled([
        store.rollouts.transition(id, 'complete', T0 + 3),
        store.rollouts.transition(id, 'halt', T0 + 3, 'failures'),
      ]);
      assert.equal(moves.map((m) => m.status).sort(), ['fulfilled', 'rejected']);
      const lost = moves.find((m) => m.status === 'rejected') as PromiseRejectedResult;
      assert.is((lost.reason as { code?: string }).code, 'FLEET_ROLLOUT_STATE');
      const won = (moves.find((m) => m.status === 'fulfilled') as PromiseFulfilledResult<string>).value;
      assert.is((await store.rollouts.get(id)).state, won);
      // A stage is not advanced once the rollout stopped running.
      assert.is(await store.rollouts.advanceStage(await store.rollouts.get(id), T0 + 4), false);
    },
  );

  t('rollouts: offers, update reports through the ingest, counts, grants and cancels', async () => {
    const { store } = await fresh('gw-1', 'gw-2', 'gw-3', 'gw-4');
    const releaseId = await published(store);
    const id = await store.rollouts.create({ releaseId, selector: 'all', stages: [100], minWaitMs: 0 }, null, T0);
    const all = await store.rollouts.pendingBelow(id, 4);
    assert.is(all.length, 4);
    const [a, b, c, d] = all as [string, string, string, string];
    const expires = T0 + 3_600_000;
    const taken = await store.rollouts.offer(
      id,
      [a, b, c].map((deviceId) => ({ deviceId, tokenHash: tokenHash(`tok-${deviceId}`), expires })),
      T0 + 1,
    );
    assert.equal([...taken].sort(), [a, b, c].sort());
    assert.equal(await store.rollouts.pendingBelow(id, 4), [d]);
    // The download listener's lookup by the token's hash.
    const grants = await store.rollouts.grants(tokenHash(`tok-${a}`));
    assert.equal(grants, [
      { device_id: a, token_expires: expires, state: 'Offered', rollout_state: 'running', release_id: releaseId },
    ]);
    assert.equal(await store.rollouts.grants(tokenHash('nobody')), []);

    // Update reports, as the ingest stores them: once per message id; a device not offered (Pending), another
    // release, an outcome already reached and Idle move nothing.
    const out = await store.ingest.writeBatch(
      [
        update(a, id, releaseId, 'Downloading', 'm-1'),
        update(a, id, releaseId, 'Downloading', 'm-1'),
        update(b, id, releaseId, 'Failed', 'm-2', 'FW_PAYLOAD_DIGEST'),
        update(b, id, releaseId, 'Downloading', 'm-3'),
        update(c, id, 'f'.repeat(64), 'Committed', 'm-4'),
        update(c, id, releaseId, 'Idle', 'm-5'),
        update(d, id, releaseId, 'Committed', 'm-6'),
      ],
      T0 + 10,
    );
    assert.equal(
      out.map((o) => o.outcome),
      ['stored', 'duplicate', 'stored', 'stored', 'stored', 'stored', 'stored'],
    );
    assert.equal(await states(store, id), { [a]: 'Downloading', [b]: 'Failed', [c]: 'Offered', [d]: 'Pending' });
    assert.equal((await store.rollouts.dueFor(a, T0)).inProgress, [id]);
    assert.equal(await store.rollouts.dueFor(b, T0), { inProgress: [], cancelled: [] });
    assert.equal(await store.rollouts.failures(id), [{ reasonCode: 'FW_PAYLOAD_DIGEST', devices: 1 }]);
    await store.ingest.writeBatch([update(a, id, releaseId, 'Committed', 'm-7')], T0 + 11);
    assert.is(await store.rollouts.committedBelow(id, 4), 1);
    const counts = await store.rollouts.counts(id);
    assert.equal([counts.offered, counts.inProgress, counts.failed, counts.updated], [3, 1, 1, 1]);
    assert.is((await store.counts()).update_status, 7);

    // An abort cancels what has not started installing and withdraws its authorisation; the cancels are due to
    // the devices that had an offer, while it would still have been valid.
    await store.ingest.writeBatch([update(c, id, releaseId, 'Installing', 'm-8')], T0 + 12);
    await store.rollouts.transition(id, 'abort', T0 + 13);
    assert.equal(await states(store, id), { [a]: 'Committed', [b]: 'Failed', [c]: 'Installing', [d]: 'Cancelled' });
    assert.equal(await store.rollouts.cancelledDevices(T0 + 14), []);
    const id2 = await store.rollouts.create({ releaseId, selector: `ids:${a},${b}` }, null, T0 + 20);
    await store.rollouts.offer(id2, [{ deviceId: a, tokenHash: tokenHash('tok-2'), expires }], T0 + 21);
    await store.rollouts.transition(id2, 'abort', T0 + 22);
    assert.equal(await store.rollouts.cancelledDevices(T0 + 23), [{ rolloutId: id2, deviceId: a }]);
    assert.equal(await store.rollouts.dueFor(a, T0 + 23), { inProgress: [], cancelled: [id2] });
    assert.equal(await store.rollouts.dueFor(c, T0 + 23), { inProgress: [id], cancelled: [] }); // installing
    assert.equal((await store.rollouts.dueFor(a, expires + 1)).cancelled, []);
    assert.equal(await store.rollouts.grants(tokenHash('tok-2')), []);
    // A report after the abort does not reopen a cancelled device.
    await store.ingest.writeBatch([update(a, id2, releaseId, 'Downloading', 'm-9')], T0 + 24);
    assert.is((await states(store, id2))[a], 'Cancelled');
  });

  t.run();
}
