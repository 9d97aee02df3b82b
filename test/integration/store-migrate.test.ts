// `fleet store migrate`: a single-node data folder with devices, telemetry, reports, commands, audit trails,
// releases with their bundles, a rollout with its devices and update reports, and posture → a real PostgreSQL;
// equal counts, the same answers through the store on both sides, and ingest carrying on from there (a copied
// sample is still a duplicate; generated ids continue after copied ones).
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTokenStore } from '../../broker/src/db/tokens.js';
import { initPki, openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { type FleetStore, openStore } from '../../broker/src/store/index.js';
import { cert, exposure, status, tele } from '../contract/fleet-store.contract.js';
import { havePeers } from '../helpers/peers.js';
import { POSTGRES_INSTALL, startPostgres } from '../helpers/postgres.js';
import { fleetCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const T0 = 1_767_000_000_000;
const DEVICES = ['gw-001', 'gw-002', 'gw-003'];
/** A 2.5 MiB release bundle: three rows of release_chunks once copied. */
const BUNDLE = randomBytes(2.5 * (1 << 20));
const BUNDLE_ID = createHash('sha256').update(BUNDLE).digest('hex');
const bundlePath = join(tmpDir('edgeward-migrate-bundle-'), 'bundle.ewfw');
writeFileSync(bundlePath, BUNDLE);

async function fill(store: FleetStore): Promise<void> {
  for (const [i, d] of DEVICES.entries()) await store.registry.addDevice(d, 'gateway', cert(`serial-${i}`), T0 + i);
  // 3 × 3 × 400 samples: more rows per table than one INSERT of the copy takes.
  for (let b = 0; b < 3; b++) {
    const seqs = Array.from({ length: 400 }, (_, i) => b * 400 + i + 1);
    await store.ingest.writeBatch(
      DEVICES.map((d) => tele(d, 'main', seqs, T0 + b)),
      T0 + b,
    );
  }
  await store.ingest.writeBatch(
    [status('gw-001', 'st-1'), exposure('gw-001', 'ex-1', 71, T0 + 5), exposure('gw-002', 'ex-2', 93, T0 + 6)],
    T0 + 6,
  );
  await store.commands.nextCounter('kid-1');
  await store.commands.add({
    id: 'cmd-1',
    deviceId: 'gw-002',
    command: 'reboot',
    params: { delay: 5 },
    operator: 'kid-1',
    counter: 1,
    envelope: new Uint8Array([9, 8, 7]),
    createdAt: T0,
    expiresAt: T0 + 60_000,
  });
  await store.registry.revoke('gw-003', T0 + 10);
  for (let i = 0; i < 5; i++) await store.audit.record({ event: 'auth-failed', detail: { i, why: "it's" } }, T0 + i);
  await store.operatorAudit.record({ operator: 'alice', action: 'device.revoke', via: 'cli', outcome: 'ok' }, T0);
  await store.releases.record(
    {
      id: BUNDLE_ID,
      hardware: 'rpi4',
      version: '1.0.0',
      sequence: 1,
      size: BUNDLE.length,
      payloadSize: 5,
      payloadSha256: 'd'.repeat(64),
      manifest: new Uint8Array([1]),
      signers: ['k'],
      expiresAt: T0 + 1,
      publishedAt: T0,
      publishedBy: null,
    },
    bundlePath,
  );
  // A rollout under way: one device offered, which reported its download (the ingest's update_status).
  const rollout = await store.rollouts.create({ releaseId: BUNDLE_ID, selector: 'all', stages: [100] }, 'alice', T0);
  const [first] = await store.rollouts.pendingBelow(rollout, 1);
  await store.rollouts.offer(rollout, [{ deviceId: first!, tokenHash: Buffer.alloc(32, 7), expires: T0 + 1 }], T0);
  await store.ingest.writeBatch(
    [
      {
        kind: 'message',
        deviceId: first!,
        receivedAt: T0 + 7,
        decoded: {
          kind: 'update/status',
          message: { v: 1, id: 'up-1', ts: T0 + 7, rolloutId: rollout, releaseId: BUNDLE_ID, state: 'Downloading' },
        },
      },
    ],
    T0 + 7,
  );
  await store.posture.store(
    {
      resolution: 'day',
      start: 0,
      devices: 2,
      reporting: 2,
      averageScore: 82,
      grades: { A: 1, B: 0, C: 1, D: 0, F: 0 },
      scores: [0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0],
      checks: { 'mqtt.anonymous': 2 },
    },
    T0,
  );
}

async function sha256Of(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of chunks) hash.update(c);
  return hash.digest('hex');
}

/** Everything the store answers about the fleet, for comparing two stores. */
async function answers(store: FleetStore) {
  const samples: unknown[] = [];
  for (const d of DEVICES) {
    let after: number | undefined;
    for (;;) {
      const p = await store.telemetry.page({ deviceId: d, limit: 500, ...(after === undefined ? {} : { after }) });
      samples.push(...p.items);
      if (p.last === null) break;
      after = p.last;
    }
  }
  return {
    counts: await store.counts(),
    devices: await store.registry.list(),
    samples,
    latest: await Promise.all(DEVICES.map((d) => store.reports.latest(d))),
    history: await Promise.all(DEVICES.map((d) => store.reports.history(d))),
    commands: await store.commands.list(null),
    audit: await store.audit.recent(),
    operatorAudit: await store.operatorAudit.page({ limit: 10 }),
    releases: await store.releases.list(),
    bundle: await sha256Of(store.releases.bundle(BUNDLE_ID)),
    rollouts: await Promise.all((await store.rollouts.list()).map((r) => store.rollouts.view(r.id, { devices: true }))),
    posture: await store.posture.read('day', 0, 86_400_000),
  };
}

if (havePeers(['initdb', 'postgres'], POSTGRES_INSTALL)) {
  const server = await startPostgres();

  test('a data folder copied into PostgreSQL: counts equal, the same answers, ingest carries on', async () => {
    const dir = tmpDir('edgeward-migrate-');
    await initPki(dir);
    const sqlite = await openStore(`sqlite:${dir}`);
    await fill(sqlite);
    const before = await answers(sqlite);
    await sqlite.close();
    // What the server keeps beside the store's records: copied too.
    const db = openFleetDb(dir);
    createTokenStore(db).create(3, 3_600_000, 'gateway', T0);
    db.exec(`INSERT INTO connections (device_id, serial, address, connected_at) VALUES ('gw-001', 'serial-0', NULL, 1);
             INSERT INTO audit_runs (at, findings) VALUES (1, 1);
             INSERT INTO audit_findings VALUES (1, 'cert.expiring', 'high', 'gw-001', 't', 'd', 'r');`);
    db.close();

    const url = await server.createDatabase();
    const r = await fleetCli(['store', 'migrate', '--from', `sqlite:${dir}`, '--to', url, '--json']);
    assert.is(r.code, 0, r.output);
    assert.not.match(r.output, server.password);
    const out = JSON.parse(r.stdout) as { ok: boolean; tables: { table: string; source: number; copied: number }[] };
    assert.ok(out.ok);
    assert.is(out.tables.find((t) => t.table === 'telemetry')!.copied, 3600);
    assert.ok(out.tables.every((t) => t.source === t.copied));
    const rows = (table: string) => out.tables.find((t) => t.table === table)!.copied;
    assert.equal(['enroll_tokens', 'connections', 'audit_runs', 'audit_findings'].map(rows), [3, 1, 1, 1]);
    assert.equal(['rollouts', 'rollout_devices', 'update_status', 'release_chunks'].map(rows), [1, 2, 1, 3]);

    const pg = await openStore(url);
    const { counts: _moved, ...after } = await answers(pg);
    const { counts: _kept, ...expected } = before;
    assert.equal(after, expected);
    assert.equal(
      Object.entries(_moved).filter(([, n]) => n > 0),
      Object.entries(_kept)
        .filter(([, n]) => n > 0)
        .concat([
          ['enroll_tokens', 3],
          ['connections', 1],
          ['audit_runs', 1],
          ['audit_findings', 1],
        ]),
    );

    // Exactly once survives the move; new rows get ids after the copied ones.
    assert.equal(await pg.ingest.writeBatch([tele('gw-001', 'main', [1200, 1201])], T0 + 20), [
      { outcome: 'stored', samples: 1 },
    ]);
    await pg.audit.record({ event: 'after-move' }, T0 + 30);
    const [newest, previous] = await pg.audit.recent(2);
    assert.is(newest!.event, 'after-move');
    assert.ok(newest!.id > previous!.id);
    await pg.close();

    // A second copy into the same database is refused: it holds rows.
    const again = await fleetCli(['store', 'migrate', '--from', `sqlite:${dir}`, '--to', url]);
    assert.is(again.code, 1);
    assert.match(again.stderr, /error FLEET_STORE_NOT_EMPTY/);
    assert.not.match(again.output, server.password);

    // For people: progress on stderr, a table of counts on stdout.
    const human = await fleetCli([
      'store',
      'migrate',
      '--from',
      `sqlite:${dir}`,
      '--to',
      await server.createDatabase(),
    ]);
    assert.is(human.code, 0, human.output);
    assert.match(human.stderr, /telemetry: 3600 of 3600 rows/);
    assert.match(human.stdout, /telemetry\s+3600\s+3600\s+ok/);
  });

  test('wrong URLs are refused before anything is copied', async () => {
    const bad = await fleetCli(['store', 'migrate', '--from', 'postgres://a@b/c', '--to', 'sqlite:/x']);
    assert.is(bad.code, 2);
    const scheme = await fleetCli(['store', 'migrate', '--from', 'mysql://root:pw@h/db', '--to', 'sqlite:/x']);
    assert.is(scheme.code, 1);
    assert.match(scheme.stderr, /error FLEET_STORE_URL/);
    assert.not.match(scheme.output, /:pw@/);
  });

  test.after(() => server.stop());
  test.run();
}
