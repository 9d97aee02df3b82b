// The update client alone (no broker): memory store and slots, a download that copies the bundle. The health
// deadline, trust documents that come with an offer (a key rotation followed; a forged one refused), and the
// reports it queues (valid update/status messages, progress at most about every 10 %).
import { copyFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createMemoryInstaller,
  createMemoryUpdateStore,
  createUpdateClient,
  type UpdateClient,
} from '../../agent/src/update/index.js';
import { nextTrust, verifyTrustDocument } from '../../firmware-tools/src/index.js';
import { generateKeyPair } from '../../shared/src/crypto/index.js';
import { decodeDeviceMessage, encode, silentLogger, type UpdateOffer } from '../../shared/src/index.js';
import { createFirmwareKit, KIT_HARDWARE } from '../helpers/firmware.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const kit = createFirmwareKit(dir);
const tls = { key: '', cert: '', ca: '' };

function rig(opts: { confirm: boolean; deadlineMs?: number; gate?: Promise<void> }) {
  const store = createMemoryUpdateStore();
  const installer = createMemoryInstaller({ version: '1.0.0', sequence: 1 });
  const sent: Uint8Array[] = [];
  let files = new Map<string, string>();
  let client!: UpdateClient;
  client = createUpdateClient({
    store,
    installer,
    download: async (req) => {
      await opts.gate;
      copyFileSync(files.get(req.url)!, req.file);
    },
    trust: kit.trust,
    hardware: KIT_HARDWARE,
    agentVersion: '0.1.0',
    tls,
    workDir: tmpDir(),
    log: silentLogger,
    now: Date.now,
    send: (p) => void sent.push(p),
    // The in-process "reboot": the status with the new version is acknowledged at once (or never).
    restartConnection: async () => {
      if (opts.confirm) client.confirmed((await installer.current()).version);
    },
    onFirmware: () => {},
    healthDeadlineMs: opts.deadlineMs ?? 10_000,
  });
  const offer = (b: { path: string; bytes: Uint8Array; id: string }, extra: Partial<UpdateOffer> = {}) => {
    const url = `https://fleet.invalid/${b.id}`;
    files = new Map([...files, [url, b.path]]);
    const o: UpdateOffer = {
      v: 1,
      id: randomUUID(),
      ts: Date.now(),
      action: 'install',
      rolloutId: 1,
      releaseId: b.id,
      url,
      token: 't'.repeat(40),
      size: b.bytes.length,
      ...extra,
    };
    client.handleOffer(encode(o));
  };
  const reports = () =>
    sent.map((p) => {
      const d = decodeDeviceMessage('update/status', p);
      if (d.kind !== 'update/status') throw new Error('not an update status');
      return d.message;
    });
  const settle = async () => {
    for (let i = 0; i < 400 && (client.state !== 'Idle' || sent.length === 0); i++)
      await new Promise((r) => setTimeout(r, 10));
    await client.idle();
  };
  return { store, installer, client, offer, reports, settle };
}

test('no confirmation before the deadline: rolled back (UPDATE_HEALTH_TIMEOUT)', async () => {
  const r = rig({ confirm: false, deadlineMs: 300 });
  r.offer(kit.bundle({ version: '2.0.0', sequence: 2 }, 4096));
  await r.settle();
  const last = r.reports().at(-1)!;
  assert.equal([last.state, last.reasonCode], ['RolledBack', 'UPDATE_HEALTH_TIMEOUT']);
  assert.equal([r.installer.state().active, r.installer.state().trial], ['a', false]);
});

test('reports are valid update/status messages; progress at most about every 10 %', async () => {
  const r = rig({ confirm: true });
  r.offer(kit.bundle({ version: '2.0.0', sequence: 2 }, 2 * 1024 * 1024));
  await r.settle();
  const reps = r.reports();
  assert.is(reps.at(-1)?.state, 'Committed');
  assert.is(reps.at(-1)?.firmwareVersion, '2.0.0');
  const progress = reps.filter((m) => m.done !== undefined && m.state === 'Verifying');
  assert.ok(progress.length >= 1 && progress.length <= 10, `${progress.length} verifying progress reports`);
});

test('a key rotation that comes with the offer is followed, and kept', async () => {
  const r = rig({ confirm: true });
  const newKey = generateKeyPair();
  const v1 = verifyTrustDocument(kit.trust);
  const v2 = nextTrust(v1, { releaseKeys: [newKey.publicKey] }, { signers: [kit.root] });
  const b = kit.bundle({ version: '2.0.0', sequence: 2 }, 4096, { signers: [newKey], name: 'rotated.ewfw' });
  r.offer(b, { trust: [kit.trust, v2] });
  await r.settle();
  assert.is(r.reports().at(-1)?.state, 'Committed', JSON.stringify(r.reports().at(-1)));
  assert.is(r.store.loadTrust().length, 1, 'the new trust document is kept');
});

test('a trust document not signed by the current roots is refused with its code', async () => {
  const r = rig({ confirm: true });
  const strangerRoot = generateKeyPair();
  const newKey = generateKeyPair();
  const v1 = verifyTrustDocument(kit.trust);
  const forged = nextTrust(
    { ...v1, rootKeys: [strangerRoot.publicKey], rootThreshold: 1 },
    { releaseKeys: [newKey.publicKey] },
    { signers: [strangerRoot] },
  );
  const b = kit.bundle({ version: '2.0.0', sequence: 2 }, 4096, { signers: [newKey], name: 'forged.ewfw' });
  r.offer(b, { trust: [forged] });
  await r.settle();
  const last = r.reports().at(-1)!;
  assert.equal([last.state, last.reasonCode], ['Failed', 'FW_TRUST_CHAIN']);
  assert.is(r.store.loadTrust().length, 0);
  assert.is(r.installer.state().active, 'a');
});

test('during an update: the same release refreshes url and token, another release is ignored', async () => {
  let open!: () => void;
  const r = rig({ confirm: true, gate: new Promise<void>((res) => (open = res)) });
  const b = kit.bundle({ version: '2.0.0', sequence: 2 }, 4096, { name: 'same.ewfw' });
  r.offer(b);
  for (let i = 0; i < 200 && r.client.state !== 'Downloading'; i++) await new Promise((res) => setTimeout(res, 5));
  r.offer(b, { token: 'n'.repeat(40), tokenExpires: 123 });
  r.offer(kit.bundle({ version: '3.0.0', sequence: 3 }, 4096, { name: 'other.ewfw' }), { rolloutId: 2 });
  const rec = r.store.load()!;
  assert.equal([rec.state, rec.releaseId, rec.token, rec.tokenExpires], ['Downloading', b.id, 'n'.repeat(40), 123]);
  open();
  await r.settle();
  assert.equal(
    r.reports().map((m) => m.rolloutId),
    r.reports().map(() => 1),
    'nothing was reported for the other release',
  );
  assert.is(r.reports().at(-1)?.state, 'Committed');
});

test('an installer with its own reboot: the update waits, and the next start resumes the health check', async () => {
  const store = createMemoryUpdateStore();
  const slots = createMemoryInstaller({ version: '1.0.0', sequence: 1 });
  let reboots = 0;
  const installer = { ...slots, reboot: async () => void reboots++ };
  const b = kit.bundle({ version: '2.0.0', sequence: 2 }, 4096, { name: 'reboot.ewfw' });
  const sent: Uint8Array[] = [];
  const make = () =>
    createUpdateClient({
      store,
      installer,
      download: async (req) => copyFileSync(b.path, req.file),
      trust: kit.trust,
      hardware: KIT_HARDWARE,
      agentVersion: '0.1.0',
      tls,
      workDir: tmpDir(),
      log: silentLogger,
      now: Date.now,
      send: (p) => void sent.push(p),
      restartConnection: () => Promise.reject(new Error('not used with an installer reboot')),
      onFirmware: () => {},
      healthDeadlineMs: 60_000,
    });
  const before = make();
  before.handleOffer(
    encode({
      v: 1,
      id: randomUUID(),
      ts: Date.now(),
      action: 'install',
      rolloutId: 3,
      releaseId: b.id,
      url: 'https://fleet.invalid/b',
      token: 't'.repeat(40),
      size: b.bytes.length,
    } satisfies UpdateOffer),
  );
  for (let i = 0; i < 400 && reboots === 0; i++) await new Promise((res) => setTimeout(res, 5));
  await new Promise((res) => setTimeout(res, 100));
  assert.equal([reboots, store.load()?.state], [1, 'HealthCheck'], 'waiting for the machine to go down');
  await before.close();
  // The gateway came back on the new slot: a new agent process confirms it.
  const after = make();
  await after.start();
  assert.is(store.load()?.boots, 1);
  after.confirmed('2.0.0');
  for (let i = 0; i < 400 && after.state !== 'Idle'; i++) await new Promise((res) => setTimeout(res, 5));
  assert.equal([store.load()?.state, store.load()?.outcome], ['Idle', 'Committed']);
  assert.equal([slots.state().active, slots.state().trial], ['b', false]);
  assert.is(reboots, 1);
});

test('an offered size that does not fit on the disk is refused before any download', async () => {
  const r = rig({ confirm: true });
  r.offer(kit.bundle({ version: '2.0.0', sequence: 2 }, 4096, { name: 'huge.ewfw' }), { size: 2 ** 40 });
  await r.settle();
  const last = r.reports().at(-1)!;
  assert.equal([last.state, last.reasonCode], ['Failed', 'UPDATE_DOWNLOAD_SIZE']);
  assert.not.ok(r.reports().some((m) => m.state === 'Downloading'));
});

test.run();
