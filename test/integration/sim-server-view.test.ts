// The simulator's server view reads what a real fleet server stored through its operator API, and finds what its
// database holds: stored samples of each device's stream up to its cutoff, their latency overall and by phase,
// exposure reports since a time, audit events by event:reason with suppressed repeats, a command's
// acknowledgements and status. It reads as a viewer: its own, registered in the data folder once, or one given.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAuditLog } from '../../broker/src/db/audit.js';
import { createCommandStore } from '../../broker/src/db/commands.js';
import { createOperatorStore } from '../../broker/src/db/operators.js';
import {
  ensureSimOperator,
  openServerView,
  type ServerView,
  SIM_OPERATOR,
  simCredentialPath,
} from '../../simulator/src/index.js';
import { createHistogram } from '../../simulator/src/metrics.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { addOperator } from '../helpers/operators.js';
import { runCliSource } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
let view: ServerView;
let ca: string;
const apiUrl = () => `https://127.0.0.1:${fleet.server.httpPort}`;
const T = Date.now() - 20_000;

/** The devices of a run: each its stream, the seq its run ended at, and where its measured window began. */
const DEVICES = Array.from({ length: 30 }, (_, i) => ({
  id: `sv-${String(i + 1).padStart(5, '0')}`,
  stream: `stream${i}abcdefgh`,
  windowStart: 2,
  cutoff: 8 + (i % 3),
  pending: 0,
}));

test.before(async () => {
  fleet = await createTestFleet(['sv-00001', 'sv-00002']);
  await fleet.start();
  ca = readFileSync(join(fleet.dataDir, 'pki', 'ca.crt'), 'utf8');
  const db = fleet.db;
  const sample = db.prepare(
    `INSERT INTO telemetry (device_id, stream, seq, device_ts, received_at, metrics) VALUES (?, ?, ?, ?, ?, '{"a":1}')`,
  );
  db.transaction(() => {
    for (let seq = 1; seq <= 12; seq++) {
      for (const [i, d] of DEVICES.entries()) {
        if (i === 4 && seq === 5) continue; // a sample lost
        const at = T + seq * 1000 + i;
        sample.run(d.id, d.stream, seq, at - ((seq * 7 + i) % 90), at);
        if (seq === 1) sample.run(d.id, 'an-older-stream', seq, at - 5, at); // not this run's
      }
      sample.run('other-device', 'x', seq, T, T + seq); // not a device of the run
    }
  })();
  const report = db.prepare(
    `INSERT INTO exposure_reports (device_id, msg_id, device_ts, received_at, scoring_version, score, grade,
       categories, services, findings, report) VALUES (?, ?, ?, ?, 1, 70, 'B', '{}', 0, 1, '{}')`,
  );
  for (const [i, d] of DEVICES.entries()) report.run(d.id, `r-${i}`, T, T + i * 100);
  report.run('sv-00001', 'r-before', T - 60_000, T - 30_000);
  const audit = createAuditLog(db);
  for (const [i, d] of DEVICES.slice(0, 3).entries()) {
    audit.record({ event: 'acl.denied', deviceId: d.id, detail: { reason: 'wildcard', topic: '#' } });
    audit.record({ event: 'acl.denied', deviceId: d.id, detail: { reason: 'wildcard', suppressed: 4 + i } });
    audit.record({ event: 'rate.disconnected', deviceId: d.id, detail: { rate: 12 } });
    audit.record({ event: 'auth.failed', deviceId: d.id, detail: 'plain text detail' });
  }
  db.prepare(`INSERT INTO audit (at, event, device_id, detail) VALUES (?, 'acl.denied', ?, '{"reason":"old"}')`).run(
    T - 60_000,
    DEVICES[0]!.id,
  );
  const commands = createCommandStore(db);
  commands.add({
    id: 'sv-cmd-000000000001',
    deviceId: 'sv-00001',
    command: 'scan-now',
    params: {},
    operator: '0123456789abcdef',
    counter: 1,
    envelope: Buffer.from('not relayed'),
    createdAt: T,
    expiresAt: T + 3_600_000,
  });
  const ack = (status: 'done' | 'rejected', n: number) => ({
    v: 1 as const,
    id: `sv-ack-00000000000${n}`,
    ts: T + n,
    cmdId: 'sv-cmd-000000000001',
    status,
    ...(status === 'rejected' ? { reason: 'replay' as const } : {}),
  });
  commands.applyAck('sv-00001', ack('done', 1), T + 10);
  commands.applyAck('sv-00002', ack('rejected', 2), T + 20); // another device naming the command
  commands.applyAck('sv-00001', ack('rejected', 3), T + 30);
  view = await openServerView({ url: apiUrl(), ca, credential: await ensureSimOperator(fleet.dataDir) });
});

test.after(async () => {
  view?.close();
  await fleet?.close();
});

test('stored samples and their latency, overall and by phase, are what the database holds', async () => {
  const phases = [
    { name: 'early', from: T, to: T + 6000 },
    { name: 'late', from: T + 6000, to: T + 20_000 },
  ];
  const got = await view.stored(DEVICES, T, phases);
  // The oracle: the server's own rows, read as the simulator once read them.
  const rows = fleet.db.prepare(
    'SELECT seq, device_ts, received_at FROM telemetry WHERE device_id = ? AND stream = ? AND seq <= ?',
  );
  let stored = 0;
  const latency = createHistogram();
  const byPhase = new Map(phases.map((p) => [p.name, createHistogram()]));
  for (const d of DEVICES) {
    for (const r of rows.all(d.id, d.stream, d.cutoff) as { seq: number; device_ts: number; received_at: number }[]) {
      stored++;
      if (r.seq <= d.windowStart) continue;
      latency.record(r.received_at - r.device_ts);
      for (const p of phases)
        if (r.device_ts >= p.from && r.device_ts < p.to) byPhase.get(p.name)!.record(r.received_at - r.device_ts);
    }
  }
  assert.is(got.stored, stored);
  assert.is(got.stored, DEVICES.reduce((n, d) => n + d.cutoff, 0) - 1, 'the one lost sample is missing');
  assert.equal(got.latency.summary(), latency.summary());
  assert.ok(latency.count > 200 && latency.max > 0);
  for (const p of phases) assert.equal(got.phases.get(p.name)!.summary(), byPhase.get(p.name)!.summary(), p.name);
});

test('exposure reports since a time, of the given devices only', async () => {
  const ids = DEVICES.map((d) => d.id);
  assert.is(await view.exposureStored(ids, T), 30);
  assert.is(await view.exposureStored(ids, T - 40_000), 31, 'the earlier report too');
  assert.is(await view.exposureStored(ids, T + 1000), 20, 'received at T + 1000 and later');
  assert.is(await view.exposureStored(ids.slice(0, 5), T), 5);
});

test('audit events since a time by event:reason, summary rows with their suppressed repeats', async () => {
  const ids = DEVICES.slice(0, 3).map((d) => d.id);
  const expected = { 'acl.denied:wildcard': 3 + 5 + 6 + 7, 'rate.disconnected': 3, 'auth.failed': 3 };
  assert.equal(await view.audited(T, ids), expected);
  assert.equal(await view.audited(T, ids.slice(0, 1)), {
    'acl.denied:wildcard': 1 + 5,
    'rate.disconnected': 1,
    'auth.failed': 1,
  });
  assert.equal((await view.audited(T - 120_000, ids.slice(0, 1)))['acl.denied:old'], 1, 'an older event');
  const all = await view.audited(T);
  assert.is(all['acl.denied:wildcard'], expected['acl.denied:wildcard']);
  assert.ok((all['operator.added'] ?? 0) >= 1, "every device's events and the fleet's: the simulator's operator");
});

test("a command's acknowledgements are its device's, oldest first; an unknown command has none", async () => {
  assert.equal(await view.acks('sv-cmd-000000000001'), [
    { status: 'done', reason: null },
    { status: 'rejected', reason: 'replay' },
  ]);
  assert.is(await view.commandStatus('sv-cmd-000000000001'), 'done');
  assert.equal(await view.acks('sv-cmd-nonexistent01'), []);
  assert.is(await view.commandStatus('sv-cmd-nonexistent01'), undefined);
});

test("the simulator's own operator is a viewer registered once; a lost credential gets a new one", async () => {
  const operators = createOperatorStore(fleet.db);
  const mine = operators.byName(SIM_OPERATOR)!;
  assert.is(mine.role, 'viewer');
  const again = await ensureSimOperator(fleet.dataDir);
  assert.is(again, readFileSync(simCredentialPath(fleet.dataDir), 'utf8'));
  assert.is(operators.list().length, 1, 'the same operator, not a second one');
  const trail = fleet.db.prepare(`SELECT action, object_id FROM operator_audit WHERE action LIKE 'operator.%'`).all();
  assert.equal(trail, [{ action: 'operator.add', object_id: SIM_OPERATOR }], 'recorded in the audit trail');
  rmSync(simCredentialPath(fleet.dataDir));
  await ensureSimOperator(fleet.dataDir);
  const names = operators.list().map((o) => o.name);
  assert.is(names.length, 2);
  assert.ok(names.some((n) => n.startsWith(`${SIM_OPERATOR}-`)));
});

test('any role reads the view: a viewer given as the credential; a revoked one fails before the run', async () => {
  const viewer = await addOperator(fleet.db, 'sv-viewer', 'viewer');
  const other = await openServerView({ url: apiUrl(), ca, credential: viewer.credential });
  assert.is(await other.commandStatus('sv-cmd-000000000001'), 'done');
  other.close();
  createOperatorStore(fleet.db).revoke('sv-viewer', 'test');
  const refused = await openServerView({ url: apiUrl(), ca, credential: viewer.credential }).catch((e) => e);
  assert.is(refused.code, 'SIM_SERVER_API');
  assert.match(refused.message, /operator API at https:\/\/127\.0\.0\.1:\d+/);
});

test('an unreachable API or a foreign CA fails at once with SIM_SERVER_API', async () => {
  const credential = await ensureSimOperator(fleet.dataDir);
  const down = await openServerView({ url: 'https://127.0.0.1:1', ca, credential }).catch((e) => e);
  assert.is(down.code, 'SIM_SERVER_API');
  assert.match(down.message, /cannot reach|ECONNREFUSED/);
  const other = await createTestFleet();
  const foreign = readFileSync(join(other.dataDir, 'pki', 'ca.crt'), 'utf8');
  await other.close();
  const wrongCa = await openServerView({ url: apiUrl(), ca: foreign, credential }).catch((e) => e);
  assert.is(wrongCa.code, 'SIM_SERVER_API');
});

test('fleet-sim run reads as the --credential given, checked by --ca; --server-api must be https', async () => {
  const sim = (args: string[]) => runCliSource('simulator/src/main.ts', args, { timeoutMs: 120_000 });
  const base = ['run', '--server', fleet.url(), '--data', fleet.dataDir, '--scenario', 'steady'];
  const plain = await sim([...base, '--devices', '1', '--server-api', `http://127.0.0.1:${fleet.server.httpPort}`]);
  assert.is(plain.code, 2, plain.output);
  assert.match(plain.stderr, /--server-api must be https:\/\/host:port/);
  const viewer = await addOperator(fleet.db, 'sv-cli', 'viewer');
  const dir = tmpDir('edgeward-sv-cli-');
  writeFileSync(join(dir, 'viewer.key'), viewer.credential, { mode: 0o600 });
  const r = await sim([
    ...base,
    ...['--server-api', apiUrl(), '--ca', join(fleet.dataDir, 'pki', 'ca.crt')],
    ...['--credential', join(dir, 'viewer.key'), '--prefix', 'cli-', '--devices', '3', '--workers', '0'],
    ...['--duration', '1s', '--telemetry-interval', '1s'],
  ]);
  assert.is(r.code, 0, r.output);
  assert.match(r.stderr, /read what the server stored through https:\/\/127\.0\.0\.1:\d+ in [\d.]+ s/);
  assert.match(r.stdout, /every invariant held/);
  const tokens = fleet.db
    .prepare(`SELECT count(*) FROM operator_audit WHERE action = 'token.issue' AND operator = 'sv-cli'`)
    .pluck()
    .get() as number;
  assert.ok(tokens >= 1, 'the run read as sv-cli');
});

test.run();
