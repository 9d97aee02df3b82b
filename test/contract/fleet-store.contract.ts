// The fleet store contract, run against every FleetStore implementation (SQLite, PostgreSQL): each method through
// the interface, the ingest guarantees (each sample once, a failed batch leaves nothing, concurrent writers),
// reading order, append-only audit trails, the foreign key to devices, and hostile strings. Releases, trust
// documents and rollouts have their own contract (fleet-store-updates.contract.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CmdAck } from '../../shared/src/commands/index.js';
import type { ExposureReport } from '../../shared/src/index.js';
import type { BatchOutcome, FleetStore, StoreItem } from '../../broker/src/store/index.js';
import { STORE_TABLES } from '../../broker/src/store/index.js';
import { createPostureHistory } from '../../broker/src/db/posture-history.js';
import { createPostureSnapshotter, periodStart } from '../../broker/src/db/posture-snapshots.js';

export interface StoreUnderTest {
  readonly store: FleetStore;
  /** Runs raw SQL on the engine, as a hostile or careless writer would (for the schema's own guards). */
  exec(sql: string): Promise<unknown>;
}

const T0 = 1_767_000_000_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const YEAR = 365 * 86_400_000;
let msgs = 0;

export const cert = (serial: string, notAfter = T0 + YEAR) => ({
  serial,
  fingerprint256: `fp-${serial}`,
  notBefore: T0 - 1000,
  notAfter,
});

export const tele = (deviceId: string, stream: string, seqs: readonly number[], receivedAt = T0): StoreItem => ({
  kind: 'message',
  deviceId,
  receivedAt,
  decoded: {
    kind: 'telemetry',
    message: {
      v: 1,
      id: `t-${++msgs}`,
      ts: receivedAt,
      stream,
      samples: seqs.map((seq) => ({ seq, ts: T0 + seq, m: { temp: seq / 2 } })),
    },
  },
});

export const status = (deviceId: string, id: string, receivedAt = T0): StoreItem => ({
  kind: 'message',
  deviceId,
  receivedAt,
  decoded: {
    kind: 'status',
    message: { v: 1, id, ts: receivedAt, state: 'online', agentVersion: '1.2.3', hardware: 'rpi4' },
  },
});

export const report = (deviceId: string, id: string, score: number): ExposureReport => ({
  v: 1,
  id,
  ts: T0,
  deviceId,
  scoringVersion: 1,
  score,
  grade: score >= 90 ? 'A' : 'C',
  categories: { transport: 100, authentication: 60, exposure: 100, configuration: 100, ai: null },
  scan: { target: 'local', durationMs: 5, timedOut: false, credentialChecks: false, truncated: false },
  services: [],
  findings: [
    {
      check: 'mqtt.anonymous',
      severity: 'high',
      category: 'authentication',
      port: 1883,
      transport: 'tcp',
      title: 'anonymous MQTT',
      evidence: 'CONNACK 0 without credentials',
      remediation: 'require client certificates',
      references: [],
    },
  ],
});

export const exposure = (deviceId: string, id: string, score: number, receivedAt = T0): StoreItem => ({
  kind: 'message',
  deviceId,
  receivedAt,
  decoded: { kind: 'exposure', message: report(deviceId, id, score) },
});

const ack = (deviceId: string, cmdId: string, s: CmdAck['status'], receivedAt = T0, detail?: string): StoreItem => ({
  kind: 'message',
  deviceId,
  receivedAt,
  decoded: {
    kind: 'cmd/ack',
    message: { v: 1, id: `a-${++msgs}`, ts: receivedAt, cmdId, status: s, ...(detail === undefined ? {} : { detail }) },
  },
});

const reject = (deviceId: string, message = 'not CBOR', topic = `fleet/${deviceId}/telemetry`): StoreItem => ({
  kind: 'reject',
  deviceId,
  topic,
  code: 'PROTO_BAD_CBOR',
  message,
  size: 3,
  receivedAt: T0,
});

const stored = (samples: number): BatchOutcome => ({ outcome: 'stored', samples });
const DUP: BatchOutcome = { outcome: 'duplicate' };

export async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.is((err as { code?: string }).code, code, (err as Error).message);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

export function fleetStoreContract(name: string, make: () => Promise<StoreUnderTest>): void {
  const t = suite(`fleet store contract: ${name}`);
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

  t('migrate is idempotent; an empty store counts zero rows in every table', async () => {
    const { store } = await fresh();
    const v = await store.schemaVersion();
    assert.ok(v >= 1);
    await store.migrate();
    assert.is(await store.schemaVersion(), v);
    const counts = await store.counts();
    assert.equal(Object.keys(counts).sort(), STORE_TABLES.map((x) => x.name).sort());
    assert.ok(Object.values(counts).every((n) => n === 0));
  });

  t('registry: devices in id order, the newest certificate, revocation, certificate checks', async () => {
    const { store } = await fresh('gw-b', 'gw-a', 'GW-c');
    assert.equal(
      (await store.registry.list()).map((d) => d.id),
      ['GW-c', 'gw-a', 'gw-b'],
    );
    assert.ok(await store.registry.exists('gw-a'));
    assert.not.ok(await store.registry.exists('gw-z'));
    await store.registry.addCertificate('gw-a', cert('s-new', T0 + 2 * YEAR), T0 + 5);
    const a = (await store.registry.get('gw-a'))!;
    assert.is(a.certificateSerial, 's-new');
    assert.is(a.certificateExpires, new Date(T0 + 2 * YEAR).toISOString());
    assert.is(a.status, 'active');
    assert.is(a.type, 'gateway');
    assert.is(a.createdAt, new Date(T0).toISOString());
    assert.is(await store.registry.get('nobody'), undefined);

    assert.equal(await store.registry.checkCertificate('gw-a', 's-new', T0), { ok: true, deviceType: 'gateway' });
    assert.equal(await store.registry.checkCertificate('gw-z', 's-new', T0), { ok: false, reason: 'unregistered' });
    assert.equal(await store.registry.checkCertificate('gw-a', 's-gw-b-0', T0), {
      ok: false,
      reason: 'unknown-certificate',
    });
    assert.equal(await store.registry.checkCertificate('gw-a', 's-new', T0 + 3 * YEAR), {
      ok: false,
      reason: 'certificate-expired',
    });

    await store.registry.setOnline('gw-a', true, '10.0.0.7', T0 + 9);
    const on = (await store.registry.get('gw-a'))!;
    assert.is(on.online, true);
    assert.is(on.lastAddress, '10.0.0.7');
    assert.is(on.lastSeen, new Date(T0 + 9).toISOString());

    assert.is(await store.registry.revoke('gw-a', T0 + 10), true);
    assert.is(await store.registry.revoke('gw-a', T0 + 11), false);
    assert.equal([...(await store.registry.revokedDeviceIds())], ['gw-a']);
    assert.equal(await store.registry.checkCertificate('gw-a', 's-new', T0), { ok: false, reason: 'revoked' });
  });

  t('registry: an unknown device is refused by the foreign key, a taken id or serial by its key', async () => {
    const { store } = await fresh('gw-a');
    await rejectsWith(store.registry.addCertificate('gw-nobody', cert('s-x')), 'FLEET_STORE_CONSTRAINT');
    await rejectsWith(store.registry.addDevice('gw-a', 'gateway', cert('s-other')), 'FLEET_STORE_CONSTRAINT');
    await rejectsWith(store.registry.addCertificate('gw-a', cert('s-gw-a-0')), 'FLEET_STORE_CONSTRAINT');
    // The failed addDevice left no half: no second certificate, no device.
    assert.is((await store.counts()).certificates, 1);
    assert.is((await store.counts()).devices, 1);
  });

  t('ingest: duplicates in one batch and across batches are stored once', async () => {
    const { store } = await fresh('gw-a', 'gw-b');
    const first = await store.ingest.writeBatch(
      [
        tele('gw-a', 's1', [1, 2, 3]),
        tele('gw-a', 's1', [3, 4]),
        tele('gw-a', 's1', [1, 2]),
        tele('gw-b', 's1', [1, 2]),
        tele('gw-a', 's2', [1]),
      ],
      T0,
    );
    assert.equal(first, [stored(3), stored(1), DUP, stored(2), stored(1)]);
    const second = await store.ingest.writeBatch(
      [tele('gw-a', 's1', [4, 5], T0 + 1), tele('gw-b', 's1', [1, 2])],
      T0 + 1,
    );
    assert.equal(second, [stored(1), DUP]);
    assert.is((await store.counts()).telemetry, 8);
    assert.is((await store.registry.get('gw-a'))!.telemetryCount, 6);
    assert.is((await store.registry.get('gw-b'))!.telemetryCount, 2);
  });

  t('ingest: a device moves by what was stored: its count, when it was last seen, the most it dropped', async () => {
    const { store } = await fresh('gw-a', 'gw-b');
    const dropping = (item: StoreItem, dropped: number): StoreItem =>
      item.kind === 'message' && item.decoded.kind === 'telemetry'
        ? { ...item, decoded: { ...item.decoded, message: { ...item.decoded.message, dropped } } }
        : item;
    const seen = async (id: string) => {
      const d = (await store.registry.get(id))!;
      return [d.telemetryCount, d.lastSeen, d.dropped];
    };
    // Telemetry alone, then in a batch with other messages: both move the counters the same way.
    await store.ingest.writeBatch(
      [dropping(tele('gw-a', 's', [1, 2], T0 + 5), 3), dropping(tele('gw-a', 's', [3], T0 + 7), 1)],
      T0 + 7,
    );
    assert.equal(await seen('gw-a'), [3, new Date(T0 + 7).toISOString(), 3]);
    await store.ingest.writeBatch([tele('gw-a', 's', [4], T0 + 9), status('gw-b', 'st-9')], T0 + 9);
    assert.equal(await seen('gw-a'), [4, new Date(T0 + 9).toISOString(), 3]);
    // What was stored before moves nothing: not the count, not the time, not the dropped count.
    await store.ingest.writeBatch([dropping(tele('gw-a', 's', [1, 4], T0 + 20), 50)], T0 + 20);
    assert.equal(await seen('gw-a'), [4, new Date(T0 + 9).toISOString(), 3]);
    // A device that stored nothing in a batch keeps its counters.
    assert.equal((await seen('gw-b'))[0], 0);
  });

  t('ingest: status, exposure reports, acks and rejects; each message id once', async () => {
    const { store } = await fresh('gw-a');
    await store.commands.add({
      id: 'cmd-1',
      deviceId: 'gw-a',
      command: 'reboot',
      params: {},
      operator: 'kid-1',
      counter: 1,
      envelope: new Uint8Array([1, 2, 3]),
      createdAt: T0,
      expiresAt: T0 + 60_000,
    });
    const out = await store.ingest.writeBatch(
      [
        status('gw-a', 'st-1'),
        status('gw-a', 'st-1'),
        exposure('gw-a', 'ex-1', 70, T0 + 1),
        exposure('gw-a', 'ex-2', 95, T0 + 2),
        ack('gw-a', 'cmd-1', 'done'),
        reject('gw-a'),
        reject('gw-a'),
      ],
      T0 + 3,
    );
    assert.equal(out, [
      stored(0),
      DUP,
      stored(0),
      stored(0),
      stored(0),
      { outcome: 'refused', reason: 'rejected' },
      { outcome: 'refused', reason: 'rejected' },
    ]);
    assert.equal(await store.ingest.writeBatch([exposure('gw-a', 'ex-1', 70)], T0 + 4), [DUP]);
    const dev = (await store.registry.get('gw-a'))!;
    assert.is(dev.agentVersion, '1.2.3');
    assert.is(dev.rejectedCount, 2);
    const latest = (await store.reports.latest('gw-a'))!;
    assert.is(latest.report.id, 'ex-2');
    assert.is(latest.receivedAt, new Date(T0 + 2).toISOString());
    assert.equal(
      (await store.reports.history('gw-a')).map((h) => [h.score, h.grade, h.findings]),
      [
        [95, 'A', 1],
        [70, 'C', 1],
      ],
    );
    assert.is((await store.reports.history('gw-a', 1)).length, 1);
    assert.is(await store.reports.latest('gw-b'), undefined);
    assert.is((await store.commands.get('cmd-1'))!.status, 'done');
    const acks = await store.commands.acks({ cmdId: 'cmd-1', deviceId: 'gw-a', limit: 10 });
    assert.equal(
      acks.map((a) => a.ack.status),
      ['done'],
    );
    const c = await store.counts();
    assert.equal([c.messages, c.status_history, c.exposure_reports, c.exposure_findings], [4, 1, 2, 2]);
    assert.equal([c.command_acks, c.ingest_rejects], [1, 1]);
  });

  t('ingest: an unknown device is refused and nothing of it is written', async () => {
    const { store } = await fresh('gw-a');
    const out = await store.ingest.writeBatch(
      [tele('gw-nobody', 's', [1, 2]), tele('gw-a', 's', [1]), status('gw-nobody', 'st-x'), reject('gw-nobody')],
      T0,
    );
    assert.equal(out, [
      { outcome: 'refused', reason: 'unknown-device' },
      stored(1),
      { outcome: 'refused', reason: 'unknown-device' },
      { outcome: 'refused', reason: 'unknown-device' },
    ]);
    const c = await store.counts();
    assert.equal([c.telemetry, c.messages, c.status_history, c.ingest_rejects], [1, 0, 0, 0]);
  });

  t('ingest: a batch that fails leaves nothing, and the same samples are stored when sent again', async () => {
    const { store } = await fresh('gw-a');
    const good = [tele('gw-a', 's', [1, 2]), status('gw-a', 'st-1'), exposure('gw-a', 'ex-1', 80)];
    // A sequence number no column can hold makes the whole transaction fail, after the good rows were written.
    const err = await rejects(store.ingest.writeBatch([...good, tele('gw-a', 's', [3.5])], T0));
    assert.ok(err instanceof Error);
    const c = await store.counts();
    assert.equal([c.telemetry, c.messages, c.status_history, c.exposure_reports], [0, 0, 0, 0]);
    assert.is((await store.registry.get('gw-a'))!.telemetryCount, 0);
    assert.equal(await store.ingest.writeBatch(good, T0), [stored(2), stored(0), stored(0)]);
    assert.is((await store.counts()).telemetry, 2);
  });

  t('ingest: concurrent writers store each sample exactly once', async () => {
    const devices = ['gw-a', 'gw-b', 'gw-c'];
    const { store } = await fresh(...devices);
    // 4 writers, 6 batches each, every batch overlapping the others' samples of every device.
    const writer = async (w: number) => {
      let samples = 0;
      for (let b = 0; b < 6; b++) {
        const start = b * 10 + w * 3;
        const items = devices.map((d) =>
          tele(
            d,
            'main',
            Array.from({ length: 20 }, (_, i) => start + i + 1),
          ),
        );
        for (const o of await store.ingest.writeBatch(items, T0 + b)) if (o.outcome === 'stored') samples += o.samples;
      }
      return samples;
    };
    const totals = await Promise.all([0, 1, 2, 3].map(writer));
    // Seqs 1 … 50 + 9 + 20 = 79 per device, whichever writer stored each.
    const unique = 79;
    assert.is(
      totals.reduce((a, b) => a + b, 0),
      unique * devices.length,
    );
    assert.is((await store.counts()).telemetry, unique * devices.length);
    for (const d of devices) assert.is((await store.registry.get(d))!.telemetryCount, unique);
  });

  t('telemetry: read in arrival order a page at a time, within a time range', async () => {
    const { store } = await fresh('gw-a', 'gw-b');
    await store.ingest.writeBatch([tele('gw-a', 's', [5, 6], T0), tele('gw-b', 's', [1], T0)], T0);
    await store.ingest.writeBatch([tele('gw-a', 's', [1, 2], T0 + 100)], T0 + 100);
    await store.ingest.writeBatch([tele('gw-a', 'z', [9], T0 + 200)], T0 + 200);
    const seen: string[] = [];
    let after: number | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const p = await store.telemetry.page({ deviceId: 'gw-a', limit: 2, ...(after === undefined ? {} : { after }) });
      seen.push(...p.items.map((s) => `${s.stream}${s.seq}`));
      if (p.last === null) break;
      after = p.last;
    }
    assert.equal(seen, ['s5', 's6', 's1', 's2', 'z9']);
    const ranged = await store.telemetry.page({ deviceId: 'gw-a', from: T0 + 100, to: T0 + 200, limit: 10 });
    assert.equal(
      ranged.items.map((s) => s.seq),
      [1, 2],
    );
    assert.is(ranged.last, null);
    const one = ranged.items[0]!;
    assert.equal(one.metrics, { temp: 0.5 });
    assert.is(one.ts, new Date(T0 + 1).toISOString());
    assert.is(one.receivedAt, new Date(T0 + 100).toISOString());
  });

  t('sealing keys: the active keys of the devices asked for, none retired', async () => {
    const u = await fresh('gw-a', 'gw-b');
    const key = (n: number) => Array.from({ length: 32 }, () => n);
    const bytes = (b: number[]) => {
      const h = Buffer.from(b).toString('hex');
      return u.store.engine === 'postgres' ? `decode('${h}', 'hex')` : `X'${h}'`;
    };
    for (const [device, n, retired] of [
      ['gw-a', 1, 'NULL'],
      ['gw-a', 2, String(T0)],
      ['gw-b', 3, 'NULL'],
    ] as const) {
      await u.exec(
        `INSERT INTO device_keys (device_id, key_id, public_key, created_at, retired_at) VALUES ('${device}', ` +
          `${bytes(Array(8).fill(n))}, ${bytes(key(n))}, ${T0}, ${retired})`,
      );
    }
    const rows = await u.store.registry.sealKeys(['gw-a', 'gw-a', 'gw-nobody']);
    assert.equal(
      rows.map((r) => [r.deviceId, [...r.kid][0], [...r.publicKey].length]),
      [['gw-a', 1, 32]],
    );
    assert.is((await u.store.registry.sealKeys([])).length, 0);
  });

  t('registry: pages in id order by status and ids; counts; certificates expiring soonest', async () => {
    const { store } = await fresh('gw-c', 'gw-a', 'GW-b', 'gw-d');
    await store.registry.revoke('gw-d', T0 + 1);
    await store.registry.setOnline('gw-a', true, null, T0 + 2);
    await store.registry.setOnline('gw-d', true, null, T0 + 2); // revoked: not counted online
    const ids = async (q: Parameters<FleetStore['registry']['page']>[0]) =>
      (await store.registry.page(q)).map((d) => d.id);
    assert.equal(await ids({ limit: 2 }), ['GW-b', 'gw-a']);
    assert.equal(await ids({ limit: 10, after: 'gw-a' }), ['gw-c', 'gw-d']);
    assert.equal(await ids({ limit: 10, status: 'revoked' }), ['gw-d']);
    assert.equal(await ids({ limit: 10, ids: ['gw-c', 'GW-b', 'nobody'] }), ['GW-b', 'gw-c']);
    assert.equal(await ids({ limit: 10, ids: [] }), []);
    assert.equal(await store.registry.counts(), { total: 4, active: 3, revoked: 1, online: 1 });

    // gw-a's newest certificate ends soon; gw-c's newest is revoked, so its older one (a year) is the current one.
    await store.registry.addCertificate('gw-a', cert('s-a-short', T0 + 5 * 86_400_000), T0 + 10);
    await store.registry.renew('gw-c', { cert: cert('s-c-short', T0 + 3 * 86_400_000), revokeOld: false }, T0 + 11);
    const expiring = await store.registry.expiring(T0 + 30 * 86_400_000, 10);
    assert.equal(expiring, {
      count: 2,
      soonest: [
        { deviceId: 'gw-c', serial: 's-c-short', notAfter: T0 + 3 * 86_400_000 },
        { deviceId: 'gw-a', serial: 's-a-short', notAfter: T0 + 5 * 86_400_000 },
      ],
    });
    assert.equal((await store.registry.expiring(T0 + 30 * 86_400_000, 1)).soonest.length, 1);
    assert.is((await store.registry.expiring(T0, 10)).count, 0);
  });

  t(
    'registry: online flags by node; a stopped node releases its devices (PostgreSQL; SQLite holds no node)',
    async () => {
      const { store } = await fresh('gw-a', 'gw-b', 'gw-c');
      await store.registry.setOnline('gw-a', true, null, T0, 'node-1');
      await store.registry.setOnline('gw-b', true, null, T0, 'node-2');
      await store.registry.setOnline('gw-c', true, null, T0, 'node-1');
      await store.registry.setOnline('gw-c', false, null, T0 + 1, 'node-1');
      const pg = store.engine === 'postgres';
      assert.equal((await store.registry.onlineNodes()).sort(), pg ? ['node-1', 'node-2'] : []);
      assert.is(await store.registry.releaseNodes(['node-1', 'node-9']), pg ? 1 : 0);
      assert.is(await store.registry.releaseNodes([]), 0);
      const online = async (id: string) => (await store.registry.get(id))!.online;
      assert.is(await online('gw-a'), !pg);
      assert.is(await online('gw-b'), true);
      assert.equal(await store.registry.onlineNodes(), pg ? ['node-2'] : []);
    },
  );

  t('registry: online flags written at once land each, in the order each device wrote them', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `gw-${String(i).padStart(2, '0')}`);
    const { store } = await fresh(...ids);
    // Not awaited one by one: the PostgreSQL store writes what arrives meanwhile in one statement.
    await Promise.all([
      ...ids.map((id, i) => store.registry.setOnline(id, true, `10.0.0.${i}`, T0 + i, 'node-1')),
      store.registry.setOnline('gw-00', false, null, T0 + 100, 'node-1'),
      store.registry.setOnline('gw-01', false, null, T0 + 100, 'node-1'),
      store.registry.setOnline('gw-01', true, null, T0 + 101, 'node-2'),
    ]);
    const list = await store.registry.list();
    assert.is(list.filter((d) => d.online).length, 39);
    const d0 = list.find((d) => d.id === 'gw-00')!;
    assert.is(d0.online, false);
    assert.is(d0.lastAddress, '10.0.0.0'); // an offline write keeps the address
    const d1 = list.find((d) => d.id === 'gw-01')!;
    assert.is(d1.online, true);
    assert.is(d1.lastAddress, '10.0.0.1');
    const d9 = list.find((d) => d.id === 'gw-09')!;
    assert.is(d9.lastAddress, '10.0.0.9');
    assert.is(d9.lastSeen, new Date(T0 + 9).toISOString());
    if (store.engine === 'postgres') assert.equal((await store.registry.onlineNodes()).sort(), ['node-1', 'node-2']);
  });

  t('registry: a device added with its sealing key; renewal adds a key, revokeOld retires the others', async () => {
    const { store } = await fresh();
    const key = (n: number) => new Uint8Array(32).fill(n);
    await store.registry.addDevice('gw-k', 'gateway', cert('s-k1'), T0, key(1));
    assert.equal(
      (await store.registry.sealKeys(['gw-k'])).map((k) => k.publicKey[0]),
      [1],
    );
    assert.equal(
      await store.registry.renew('gw-k', { cert: cert('s-k2'), sealKey: key(2), revokeOld: false }, T0 + 1),
      { revokedSerials: [], retired: 0 },
    );
    assert.equal(
      (await store.registry.sealKeys(['gw-k'])).map((k) => k.publicKey[0]),
      [1, 2],
    );
    // Sealed to: the newest while none is used, then the one the device last switched to.
    const current = async () => (await store.registry.currentSealKey('gw-k'))?.publicKey[0];
    assert.is(await current(), 2);
    const [k1, k2] = await store.registry.sealKeys(['gw-k']);
    await store.registry.markSealKeysUsed([{ deviceId: 'gw-k', kid: k1!.kid, at: T0 + 1 }]);
    assert.is(await current(), 1);
    await store.registry.markSealKeysUsed([
      { deviceId: 'gw-k', kid: k2!.kid, at: T0 + 2 },
      { deviceId: 'gw-nobody', kid: k2!.kid, at: T0 + 2 },
    ]);
    assert.is(await current(), 2);
    assert.is(await store.registry.currentSealKey('gw-nobody'), undefined);
    await store.registry.markSealKeysUsed([]);
    assert.equal(await store.registry.renew('gw-k', { cert: cert('s-k3'), sealKey: key(3), revokeOld: true }, T0 + 2), {
      revokedSerials: ['s-k1', 's-k2'],
      retired: 2,
    });
    assert.equal(
      (await store.registry.sealKeys(['gw-k'])).map((k) => k.publicKey[0]),
      [3],
    );
    assert.equal(await store.registry.checkCertificate('gw-k', 's-k2', T0 + 3), {
      ok: false,
      reason: 'certificate-revoked',
    });
    assert.equal(await store.registry.checkCertificate('gw-k', 's-k3', T0 + 3), { ok: true, deviceType: 'gateway' });
    // A renewal for a serial already issued changes nothing.
    await rejectsWith(
      store.registry.renew('gw-k', { cert: cert('s-k1'), sealKey: key(4), revokeOld: true }, T0 + 4),
      'FLEET_STORE_CONSTRAINT',
    );
    assert.equal(
      (await store.registry.sealKeys(['gw-k'])).map((k) => k.publicKey[0]),
      [3],
    );
  });

  t('fleet-wide pages: telemetry and reports in arrival order, by range and devices; counts per period', async () => {
    const { store } = await fresh('gw-a', 'gw-b');
    await store.ingest.writeBatch([tele('gw-a', 's', [1, 2], T0), tele('gw-b', 's', [1], T0)], T0);
    await store.ingest.writeBatch([tele('gw-b', 's', [2], T0 + 100), exposure('gw-a', 'r-1', 60, T0 + 100)], T0 + 100);
    await store.ingest.writeBatch(
      [exposure('gw-b', 'r-2', 95, T0 + 200), exposure('gw-a', 'r-3', 80, T0 + 200)],
      T0 + 200,
    );
    const seen: string[] = [];
    let after: number | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const p = await store.telemetry.fleetPage({ limit: 2, devices: null, ...(after === undefined ? {} : { after }) });
      seen.push(...p.items.map((s) => `${s.deviceId}:${s.seq}`));
      if (p.last === null) break;
      after = p.last;
    }
    assert.equal(seen, ['gw-a:1', 'gw-a:2', 'gw-b:1', 'gw-b:2']);
    const ranged = await store.telemetry.fleetPage({ from: T0 + 50, to: T0 + 500, limit: 10, devices: null });
    assert.equal(
      ranged.items.map((s) => `${s.deviceId}:${s.seq}:${s.receivedAt}`),
      [`gw-b:2:${new Date(T0 + 100).toISOString()}`],
    );
    const limited = await store.telemetry.fleetPage({ limit: 10, devices: ['gw-b'] });
    assert.equal(
      limited.items.map((s) => s.deviceId),
      ['gw-b', 'gw-b'],
    );
    assert.equal((await store.telemetry.fleetPage({ limit: 10, devices: [] })).items, []);

    const reports = await store.reports.received({ limit: 2, devices: null });
    assert.equal(
      reports.items.map((r) => [r.deviceId, r.score, r.grade, r.findings, r.at]),
      [
        ['gw-a', 60, 'C', 1, new Date(T0 + 100).toISOString()],
        ['gw-b', 95, 'A', 1, new Date(T0 + 200).toISOString()],
      ],
    );
    assert.ok(reports.last !== null);
    const rest = await store.reports.received({ limit: 2, devices: null, after: reports.last! });
    assert.equal(
      rest.items.map((r) => r.deviceId),
      ['gw-a'],
    );
    assert.is(rest.last, null);
    assert.equal(
      (await store.reports.received({ limit: 10, devices: ['gw-b'], from: T0 + 150 })).items.map((r) => r.score),
      [95],
    );

    assert.equal(await store.telemetry.countPerPeriod([T0, T0 + 50, T0 + 150]), [3, 1, 0]);
    assert.equal(await store.telemetry.countPerPeriod([T0 + 50]), [1]);
    await store.audit.record({ event: 'e' }, T0 + 10);
    await store.audit.record({ event: 'e' }, T0 + 60);
    await store.audit.record({ event: 'e' }, T0 + 70);
    assert.equal(await store.audit.countPerPeriod([T0, T0 + 50]), [1, 2]);
  });

  t('posture: each active device by its latest report, worst first, common findings by device', async () => {
    const { store } = await fresh('gw-a', 'gw-b', 'gw-c', 'gw-d');
    await store.ingest.writeBatch([exposure('gw-a', 'p-1', 40, T0), exposure('gw-b', 'p-2', 95, T0)], T0);
    await store.ingest.writeBatch(
      [exposure('gw-a', 'p-3', 70, T0 + 10), exposure('gw-d', 'p-4', 10, T0 + 10)],
      T0 + 10,
    );
    await store.registry.revoke('gw-d', T0 + 20);
    const p = await store.reports.posture(1);
    assert.is(p.devices, 2);
    assert.is(p.unreported, 1); // gw-c; gw-d is revoked
    assert.is(p.averageScore, 82.5);
    assert.equal(p.grades, { A: 1, B: 0, C: 1, D: 0, F: 0 });
    assert.equal(p.worst, [
      { deviceId: 'gw-a', score: 70, grade: 'C', findings: 1, at: new Date(T0 + 10).toISOString() },
    ]);
    assert.equal(p.commonFindings, [{ check: 'mqtt.anonymous', severity: 'high', devices: 2 }]);
  });

  t('posture over periods: each device by its latest report before the end, revoked ones left out', async () => {
    const { store } = await fresh('gw-a', 'gw-b', 'gw-c', 'gw-d');
    const D0 = periodStart('day', T0) + DAY;
    await store.ingest.writeBatch(
      [exposure('gw-a', 'h-1', 40, D0 + HOUR), exposure('gw-b', 'h-2', 95, D0 + 2 * HOUR)],
      D0 + 2 * HOUR,
    );
    await store.ingest.writeBatch([exposure('gw-d', 'h-3', 10, D0 + 3 * HOUR)], D0 + 3 * HOUR);
    await store.ingest.writeBatch([exposure('gw-a', 'h-4', 70, D0 + DAY + HOUR)], D0 + DAY + HOUR);
    await store.registry.revoke('gw-d', D0 + DAY + 12 * HOUR);
    const scores = (c: Record<number, number>) => Array.from({ length: 11 }, (_, i) => c[i] ?? 0);
    assert.equal(await store.posture.compute('day', D0), {
      resolution: 'day',
      start: D0,
      devices: 3,
      reporting: 3,
      averageScore: 48.3,
      grades: { A: 1, B: 0, C: 2, D: 0, F: 0 },
      scores: scores({ 1: 1, 4: 1, 9: 1 }),
      checks: { 'mqtt.anonymous': 3 },
    });
    // gw-b silent but counted by its day-0 report, gw-a by its newer one; gw-d revoked before the day ended.
    assert.equal(await store.posture.compute('day', D0 + DAY), {
      resolution: 'day',
      start: D0 + DAY,
      devices: 2,
      reporting: 1,
      averageScore: 82.5,
      grades: { A: 1, B: 0, C: 1, D: 0, F: 0 },
      scores: scores({ 7: 1, 9: 1 }),
      checks: { 'mqtt.anonymous': 2 },
    });
    assert.is((await store.posture.compute('hour', D0)).devices, 0);
    assert.is(await store.posture.firstReportAt(), D0 + HOUR);

    // The snapshotter stores each completed period once, hours first; a second run computes nothing.
    const now = D0 + 2 * DAY + 30 * 60_000;
    const snapshotter = createPostureSnapshotter(store.posture, { now: () => now, maxPeriods: 1000, budgetMs: 1e9 });
    const first = await snapshotter.catchUp();
    assert.is(first.computed, 47 + 2); // the hours from D0 01:00 to the last ended one, and the two days
    assert.equal(await snapshotter.catchUp(), { computed: 0, remaining: 0, pruned: 0 });
    assert.equal(
      (await store.posture.read('day', D0, D0 + 2 * DAY)).map((p) => [p.devices, p.reporting]),
      [
        [3, 3],
        [2, 1],
      ],
    );
    assert.equal(await store.posture.starts('day', 0, now), [D0, D0 + DAY]);
    // A week later the hours are pruned; the days stay, and the history reads them with the live periods.
    const later = now + 8 * DAY;
    const again = await createPostureSnapshotter(store.posture, { now: () => later, maxPeriods: 0 }).catchUp();
    assert.is(again.pruned, 49 - 2);
    assert.is((await store.posture.starts('hour', 0, later)).length, 0);
    const history = await createPostureHistory(store.posture)({ resolution: 'day', since: D0 }, now);
    assert.equal(
      history.periods.map((p) => [p.start, p.devices, p.partial ?? false]),
      [
        [new Date(D0).toISOString(), 3, false],
        [new Date(D0 + DAY).toISOString(), 2, false],
        [new Date(D0 + 2 * DAY).toISOString(), 2, true],
      ],
    );
  });

  t(
    'retention: old samples and reports beyond the limit deleted in steps; a deleted sample stays a duplicate',
    async () => {
      const { store } = await fresh('gw-a', 'gw-b');
      const old = T0 - 10 * DAY;
      await store.ingest.writeBatch([tele('gw-a', 's1', [1, 2, 3], old), tele('gw-b', 's1', [1], old)], old);
      await store.ingest.writeBatch([tele('gw-a', 's1', [4], T0)], T0);
      for (let i = 0; i < 5; i++) {
        await store.ingest.writeBatch([exposure('gw-a', `r-a-${i}`, 50 + i, T0 + i)], T0 + i);
      }
      await store.ingest.writeBatch([exposure('gw-b', 'r-b-0', 90, T0)], T0);
      const retention = { telemetryDays: 7, reportsPerDevice: 2 };
      let pruned = { samples: 0, reports: 0 };
      for (let step = 0; step < 10; step++) {
        const p = await store.ingest.prune(retention, T0 + 100);
        pruned = { samples: pruned.samples + p.samples, reports: pruned.reports + p.reports };
        if (!p.more) break;
      }
      assert.equal(pruned, { samples: 4, reports: 3 });
      const page = await store.telemetry.fleetPage({ limit: 100, devices: null });
      assert.equal(
        page.items.map((x) => [x.deviceId, x.seq]),
        [['gw-a', 4]],
      );
      const history = await store.reports.history('gw-a', 10);
      assert.equal(history.map((r) => r.score).sort(), [53, 54]);
      assert.is((await store.reports.history('gw-b', 10)).length, 1);
      const counts = await store.counts();
      assert.is(counts.exposure_reports, 3);
      assert.is(counts.exposure_findings, 3, "the deleted reports' findings went with them");
      // A resend of a deleted sample is acknowledged as a duplicate, not stored again; a new seq is stored.
      assert.equal(await store.ingest.writeBatch([tele('gw-a', 's1', [2])], T0 + 200), [DUP]);
      assert.equal(await store.ingest.writeBatch([tele('gw-b', 's1', [2])], T0 + 200), [stored(1)]);
      // Nothing more is due.
      const again = await store.ingest.prune(retention, T0 + 300);
      assert.equal([again.samples, again.reports], [0, 0]);
    },
  );

  t(
    'enrolment tokens: hashed, each claimed once (of concurrent claims one wins), expired and unknown refused',
    async () => {
      const { store } = await fresh();
      const { tokens, expires } = await store.enrollTokens.create(3, 60_000, 'sensor', T0);
      assert.is(expires, T0 + 60_000);
      assert.is(tokens.length, 3);
      for (const token of tokens) assert.match(token, /^ewt_[A-Za-z0-9_-]{43}$/);
      assert.is(new Set(tokens).size, 3);
      assert.is((await store.counts()).enroll_tokens, 3);
      const claims = await Promise.all(
        ['gw-1', 'gw-2', 'gw-3'].map((id) => store.enrollTokens.claim(tokens[0]!, id, T0 + 1)),
      );
      assert.equal(
        claims.filter((c) => c.ok),
        [{ ok: true, deviceType: 'sensor' }],
      );
      assert.equal(
        claims.filter((c) => !c.ok),
        [
          { ok: false, reason: 'token-used' },
          { ok: false, reason: 'token-used' },
        ],
      );
      assert.equal(await store.enrollTokens.claim(tokens[1]!, 'gw-4', T0 + 60_000), {
        ok: false,
        reason: 'token-expired',
      });
      assert.equal(await store.enrollTokens.claim(`ewt_${'A'.repeat(43)}`, 'gw-5', T0), {
        ok: false,
        reason: 'token-invalid',
      });
      assert.equal(await store.enrollTokens.claim(tokens[2]!, 'gw-6', T0 + 59_999), { ok: true, deviceType: 'sensor' });
    },
  );

  t('security events: pages newest first by event, device, devices and time', async () => {
    const { store } = await fresh('gw-a', 'gw-b');
    await store.audit.record({ event: 'auth.denied', deviceId: 'gw-a' }, T0);
    await store.audit.record({ event: 'acl.denied', deviceId: 'gw-b' }, T0 + 10);
    await store.audit.record({ event: 'auth.denied', deviceId: 'gw-b' }, T0 + 20);
    await store.audit.record({ event: 'operator.added', actor: 'alice' }, T0 + 30);
    const page = (q: Partial<Parameters<FleetStore['audit']['page']>[0]>) =>
      store.audit.page({ limit: 10, ...q }).then((r) => r.map((e) => `${e.event}@${e.deviceId ?? '-'}`));
    assert.equal(await page({}), ['operator.added@-', 'auth.denied@gw-b', 'acl.denied@gw-b', 'auth.denied@gw-a']);
    assert.equal(await page({ event: 'auth.denied' }), ['auth.denied@gw-b', 'auth.denied@gw-a']);
    assert.equal(await page({ deviceId: 'gw-a' }), ['auth.denied@gw-a']);
    assert.equal(await page({ devices: ['gw-b'] }), ['auth.denied@gw-b', 'acl.denied@gw-b']);
    assert.equal(await page({ since: T0 + 10, limit: 2 }), ['operator.added@-', 'auth.denied@gw-b']);
    const first = await store.audit.page({ limit: 2 });
    assert.equal(await page({ before: first.at(-1)!.id }), ['acl.denied@gw-b', 'auth.denied@gw-a']);
  });

  t('commands: counters, queue, delivery, expiry, newest first', async () => {
    const { store } = await fresh('gw-a', 'gw-b');
    assert.equal(
      [
        await store.commands.nextCounter('k1'),
        await store.commands.nextCounter('k1'),
        await store.commands.nextCounter('k2'),
      ],
      [1, 2, 1],
    );
    const add = (id: string, deviceId: string, counter: number, createdAt: number, expiresAt: number) =>
      store.commands.add({
        id,
        deviceId,
        command: 'set-relay',
        params: { relay: 1, on: true, note: 'it\'s "quoted"' },
        operator: 'k1',
        counter,
        envelope: new Uint8Array([counter, 0, 255]),
        createdAt,
        expiresAt,
      });
    await add('c-2', 'gw-a', 2, T0 + 2, T0 + 1000);
    await add('c-1', 'gw-a', 1, T0 + 1, T0 + 1000);
    await add('c-3', 'gw-b', 3, T0 + 3, T0 + 10);
    await rejectsWith(add('c-4', 'gw-nobody', 4, T0, T0 + 1), 'FLEET_STORE_CONSTRAINT');
    const open = await store.commands.openFor('gw-a', T0 + 5);
    assert.equal(
      open.map((c) => [c.id, [...c.envelope]]),
      [
        ['c-1', [1, 0, 255]],
        ['c-2', [2, 0, 255]],
      ],
    );
    assert.equal([await store.commands.reservedCounter('k1'), await store.commands.reservedCounter('k9')], [2, 0]);
    assert.equal([await store.commands.counterUsed('k1', 2), await store.commands.counterUsed('k1', 7)], [true, false]);
    assert.equal((await store.commands.devicesWithPending(T0 + 5)).sort(), ['gw-a', 'gw-b']);
    await store.commands.markSent('c-1', T0 + 6);
    const c1 = (await store.commands.get('c-1'))!;
    assert.equal([c1.status, c1.attempts, c1.signedBy], ['sent', 1, null]);
    assert.equal(c1.params, { relay: 1, on: true, note: 'it\'s "quoted"' });
    assert.equal(
      (await store.commands.list(null)).map((c) => c.id),
      ['c-3', 'c-2', 'c-1'],
    );
    assert.equal(
      (await store.commands.list('gw-a', 1)).map((c) => c.id),
      ['c-2'],
    );
    assert.is(await store.commands.expire(T0 + 20), 1);
    assert.is((await store.commands.get('c-3'))!.status, 'expired');
    assert.is(await store.commands.get('c-none'), undefined);
    // An ack never moves another device's command.
    await store.ingest.writeBatch([ack('gw-b', 'c-1', 'done')], T0 + 30);
    assert.is((await store.commands.get('c-1'))!.status, 'sent');
  });

  t('audit trails: newest first, filtered, and append-only in the schema', async () => {
    const { store, exec } = await fresh();
    await store.audit.record({ event: 'auth-failed', deviceId: 'gw-a', address: '10.0.0.1', detail: { n: 1 } }, T0);
    await store.audit.record({ event: 'acl-denied', deviceId: 'gw-a', detail: 'plain text' }, T0 + 1);
    await store.audit.record({ event: 'auth-failed', actor: 'alice' }, T0 + 2);
    const recent = await store.audit.recent();
    assert.equal(
      recent.map((r) => r.event),
      ['auth-failed', 'acl-denied', 'auth-failed'],
    );
    assert.equal(recent[1]!.detail, 'plain text');
    assert.equal(recent[2]!.detail, { n: 1 });
    assert.is(recent[2]!.at, new Date(T0).toISOString());
    assert.equal(
      (await store.audit.recent(10, 'auth-failed')).map((r) => r.actor),
      ['alice', null],
    );
    assert.is((await store.audit.recent(1)).length, 1);

    const ids: number[] = [];
    for (const [i, action] of ['device.revoke', 'operator.add', 'device.revoke'].entries()) {
      ids.push(
        await store.operatorAudit.record(
          { operator: 'alice', action, via: 'api', outcome: i === 1 ? 'denied' : 'ok', status: 200, detail: { i } },
          T0 + i,
        ),
      );
    }
    const page = await store.operatorAudit.page({ limit: 2 });
    assert.equal(
      page.map((r) => r.id),
      [ids[2], ids[1]],
    );
    assert.equal(page[1]!.outcome, 'denied');
    assert.equal(page[0]!.detail, { i: 2 });
    assert.equal(
      (await store.operatorAudit.page({ limit: 5, before: ids[2]!, action: 'device.revoke' })).map((r) => r.id),
      [ids[0]],
    );

    for (const sql of [
      `UPDATE audit SET event = 'nothing-happened'`,
      'DELETE FROM audit',
      `UPDATE operator_audit SET outcome = 'ok'`,
      'DELETE FROM operator_audit',
    ]) {
      const err = await rejects(exec(sql));
      assert.match(err.message, /append-only/);
    }
    assert.is((await store.counts()).audit, 3);
    assert.is((await store.counts()).operator_audit, 3);
  });

  t('hostile strings round-trip, or are refused whole with a typed error', async () => {
    const nasty = [
      `'; DROP TABLE devices; --`,
      `"quoted" \\backslash\\ $1 %s {{x}}`,
      'ünïcödé ☃ 𝄞 \u202e',
      'x'.repeat(64 * 1024),
    ];
    const { store } = await fresh(...nasty.slice(0, 3));
    assert.equal((await store.registry.list()).map((d) => d.id).sort(), nasty.slice(0, 3).sort());
    for (const s of nasty) await store.audit.record({ event: 'hostile', actor: s, detail: s }, T0);
    const back = (await store.audit.recent(10, 'hostile')).reverse();
    assert.equal(
      back.map((r) => r.actor),
      nasty,
    );
    assert.equal(
      back.map((r) => r.detail),
      nasty,
    );
    // A NUL: SQLite keeps it, PostgreSQL text cannot hold it. Either way, never a half-written row.
    const before = (await store.counts()).audit;
    try {
      await store.audit.record({ event: 'hostile', actor: 'a\u0000b', detail: null }, T0);
      assert.is((await store.audit.recent(1))[0]!.actor, 'a\u0000b');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'FLEET_STORE_VALUE');
      assert.is((await store.counts()).audit, before);
    }
    // One device's NUL never fails the batch: its message is stored, or refused alone.
    const out = await store.ingest.writeBatch(
      [
        ack(nasty[0]!, 'cmd-x', 'failed', T0, 'a\u0000b'),
        tele(nasty[0]!, 's\u0000', [1]),
        reject(nasty[1]!, 'bad \u0000 byte', 'fleet/x\u0000/telemetry'),
        tele(nasty[1]!, 'ok', [1]),
      ],
      T0,
    );
    const alone = { outcome: 'refused', reason: 'unstorable' };
    assert.ok(
      [stored(0), alone].some((o) => JSON.stringify(o) === JSON.stringify(out[0])),
      JSON.stringify(out),
    );
    assert.ok(
      [stored(1), alone].some((o) => JSON.stringify(o) === JSON.stringify(out[1])),
      JSON.stringify(out),
    );
    assert.equal(out.slice(2), [{ outcome: 'refused', reason: 'rejected' }, stored(1)]);
  });

  t('posture snapshots: stored per period, replaced, read in order', async () => {
    const { store } = await fresh();
    const snap = (start: number, devices: number) => ({
      resolution: 'day' as const,
      start,
      devices,
      reporting: devices,
      averageScore: devices ? 72.5 : null,
      grades: { A: devices, B: 0, C: 0, D: 0, F: 0 },
      scores: Array.from({ length: 11 }, (_, i) => (i === 7 ? devices : 0)),
      checks: { 'mqtt.anonymous': devices },
    });
    const day = 86_400_000;
    await store.posture.store(snap(2 * day, 3), T0);
    await store.posture.store(snap(day, 0), T0);
    await store.posture.store(snap(2 * day, 4), T0 + 1);
    const read = await store.posture.read('day', 0, 3 * day);
    assert.equal(read, [snap(day, 0), snap(2 * day, 4)]);
    assert.equal(await store.posture.read('hour', 0, 3 * day), []);
  });

  t.run();
}
