// The fleet CLI as a client of the operator API: each converted command, run with --data DIR on the server host
// and with --server URL --ca FILE --credential FILE against the running server, on the same fleet state, prints
// the same thing and exits the same way. The CLIs run from a bundle of the current source (cli-cases.ts).
import { createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sampleReport } from '../../agent/src/scan/index.js';
import { createCommandStore } from '../../broker/src/db/commands.js';
import { createExposureStore } from '../../broker/src/db/exposure.js';
import { createRegistry } from '../../broker/src/db/registry.js';
import { loadCa } from '../../broker/src/fleet/data-dir.js';
import { provisionDevice } from '../../broker/src/fleet/provision.js';
import { createIngestStore } from '../../broker/src/fleet/ingest-store.js';
import { newCommandBody, signCommand } from '../../shared/src/commands/index.js';
import {
  decodeExposure,
  encode,
  generateKeyPair,
  keyId,
  parsePrivateKeyPem,
  privateKeyToPem,
  publicKeyToPem,
} from '../../shared/src/index.js';
import { bundleClis } from '../helpers/cli-cases.js';
import { createTestFleet, type TestFleet, waitFor } from '../helpers/fleet.js';
import { addOperator, apiClientFor, type TestOperator } from '../helpers/operators.js';
import { type RunResult, run } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
let bundles: string;
let admin: TestOperator;
const files = tmpDir('edgeward-cli-remote-');
const credentialFile = join(files, 'admin.key');
const hostKeyFile = join(files, 'host-operator.key');
const hostKey = generateKeyPair();
/** The seeded samples were received from here on (3 h before the test started). */
const base = Date.now() - 3 * 3600_000;
const MIN = 60_000;

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'EDGEWARD_TOKEN'));
const fleetCli = (args: string[]): Promise<RunResult> =>
  run(process.execPath, [join(bundles, 'fleet.js'), ...args], { env, timeoutMs: 30_000 });
const onHost = () => ['--data', fleet.dataDir];
const throughApi = () => [
  ...['--server', `https://127.0.0.1:${fleet.server.httpPort}`],
  ...['--ca', join(fleet.dataDir, 'pki', 'ca.crt'), '--credential', credentialFile],
];

/** The first line where two outputs differ, for a failure message that shows it without a diff tool. */
function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const i = x.findIndex((line, n) => line !== y[n]);
  return i < 0 ? `--server printed ${y.length - x.length} more lines` : `line ${i + 1}: ${x[i]} | ${y[i]}`;
}

/** Runs the command both ways at once (reads only): the answers must be the same. */
async function same(args: string[], expectCode = 0): Promise<RunResult> {
  const [d, s] = await Promise.all([fleetCli([...args, ...onHost()]), fleetCli([...args, ...throughApi()])]);
  const what = `fleet ${args.join(' ')}\n--- --data\n${d.output}--- --server\n${s.output}`;
  assert.is(d.code, expectCode, what);
  assert.is(s.code, d.code, what);
  assert.is(s.stdout, d.stdout, `${firstDifference(d.stdout, s.stdout)}\n${what}`);
  assert.is(s.stderr, d.stderr, what);
  return d;
}

/** Seeds telemetry through the real ingest store: 1,200 keyed samples of gw-r1, some of gw-r2, 100 not keyed yet. */
function seedTelemetry(): void {
  const store = createIngestStore(fleet.db);
  let msg = 0;
  const batch = (deviceId: string, stream: string, firstSeq: number, n: number, receivedAt: number) => {
    const samples = Array.from({ length: n }, (_, i) => ({
      seq: firstSeq + i,
      ts: receivedAt - 5000 + i,
      m: { temp: 20 + ((firstSeq + i) % 10), rssi: -60 },
    }));
    const id = `msg-${String(++msg).padStart(8, '0')}`;
    const message = { v: 1 as const, id, ts: receivedAt, stream, samples };
    store.writeBatch([{ kind: 'message', deviceId, decoded: { kind: 'telemetry', message }, receivedAt }], receivedAt);
  };
  // A key pass runs when the oldest unkeyed sample is 250 ms old (ingest-store.ts): after b2 and b4, not b5.
  batch('gw-r1', 'stream-a', 1, 400, base);
  batch('gw-r1', 'stream-a', 401, 400, base + 10 * MIN);
  batch('gw-r2', 'stream-b', 1, 50, base + 15 * MIN);
  batch('gw-r1', 'stream-a', 801, 400, base + 20 * MIN);
  batch('gw-r1', 'stream-a', 1201, 100, base + 150 * MIN);
}

function seedReports(): void {
  const exposure = createExposureStore(fleet.db);
  let seed = 7;
  const rng = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  // As ingest stores them: decoded (so their keys are in schema order), in order of arrival.
  const add = (id: string, at: number) => exposure.add(id, decodeExposure(encode(sampleReport(id, rng))), at);
  add('gw-r1', Date.now() - 3 * 86_400_000);
  add('gw-r2', Date.now() - 2 * 86_400_000);
  add('gw-r1', Date.now() - 86_400_000);
  add('gw-r1', Date.now() - 1000);
}

test.before(async () => {
  bundles = bundleClis();
  fleet = await createTestFleet(['gw-r1', 'gw-r2', 'gw-r3']);
  seedTelemetry();
  seedReports();
  await provisionDevice(
    createRegistry(fleet.db),
    await loadCa(fleet.dataDir),
    'gw-short',
    fleet.deviceDir('gw-short'),
    {
      validityDays: 10,
    },
  );
  admin = await addOperator(fleet.db, 'alice', 'admin');
  writeFileSync(credentialFile, admin.credential, { mode: 0o600 });
  // Commands on the host may be signed with any key the devices trust, registered as an operator or not.
  writeFileSync(hostKeyFile, privateKeyToPem(hostKey.secretKey), { mode: 0o600 });
  writeFileSync(`${hostKeyFile}.pub`, publicKeyToPem(hostKey.publicKey));
  await fleet.start();
});

test.after(async () => {
  await fleet.close();
});

test('reads: device list, report, posture, telemetry and cmd list print the same both ways', async () => {
  await same(['device', 'list']);
  await same(['device', 'list', '--json']);
  const report = await same(['report', 'gw-r1', '--json', '--history', '2']);
  const parsed = JSON.parse(report.stdout) as { latest: { services: unknown[] }; history: unknown[] };
  assert.ok(parsed.latest.services.length > 0, 'a full report, services and all');
  assert.is(parsed.history.length, 2);
  await same(['report', 'gw-r1']);
  await same(['report', 'gw-r3']);
  await same(['posture']);
  await same(['posture', '--json', '--worst', '1']);
  // The server stores the past days' snapshots as it starts (db/posture-snapshots.ts); today is computed live.
  await waitFor(
    () => fleet.db.prepare(`SELECT count(*) FROM posture_snapshots WHERE resolution = 'day'`).pluck().get() === 3,
    'the daily posture snapshots',
  );
  const history = await same(['posture', '--since', '4d', '--json']);
  const { resolution, periods } = JSON.parse(history.stdout) as {
    resolution: string;
    periods: { devices: number; reporting: number; partial?: true }[];
  };
  assert.is(resolution, 'day');
  assert.equal(
    periods.map((d) => [d.devices, d.reporting, d.partial ?? false]),
    [
      [1, 1, false],
      [2, 1, false],
      [2, 1, false],
      [2, 1, true],
    ],
    'gw-r1 reports 3 days ago, gw-r2 2 days ago, gw-r1 again yesterday and today; each counted by its latest ' +
      'report, silent ones too; the day before the first report is left out',
  );
  await same(['posture', '--since', '4d']);
  const hours = await same(['posture', '--since', '6h']);
  assert.match(hours.stdout, /^fleet posture per hour \(UTC\)/);
  assert.match(hours.stdout, /^PERIOD\s+DEVICES\s+REPORTING\s+AVERAGE\s+A\s+B\s+C\s+D\s+F\s+SCORE$/m);
  assert.is(hours.stdout.match(/^\d{4}-\d{2}-\d{2}T\d{2}:00/gm)?.length, 7, 'the hour 6 h ago through this one');
  await same(['cmd', 'list']);
});

test('GET /api/v1/posture/history: resolution and since, and a clear 400 for either when wrong', async () => {
  const api = apiClientFor(fleet.dataDir, fleet.server.httpPort, { credential: admin.credential });
  try {
    await waitFor(
      () => fleet.db.prepare(`SELECT count(*) FROM posture_snapshots WHERE resolution = 'day'`).pluck().get() === 3,
      'the daily posture snapshots',
    );
    const since = new Date(Date.now() - 2 * 3600_000).toISOString();
    const hours = await api.call<{ resolution: string; periods: { start: string; partial?: true }[] }>(
      'GET',
      `/api/v1/posture/history?resolution=hour&since=${since}`,
    );
    assert.is(hours.resolution, 'hour');
    assert.is(hours.periods.length, 3, 'the hour holding since, the next, and the current one');
    assert.is(hours.periods[0]!.start, `${since.slice(0, 13)}:00:00.000Z`);
    assert.equal(hours.periods.at(-1)!.partial, true);
    const byDefault = await api.call<{ resolution: string; periods: unknown[] }>('GET', '/api/v1/posture/history');
    assert.is(byDefault.resolution, 'day');
    assert.is(byDefault.periods.length, 4, 'the last 30 days, from the first report on');
    for (const [query, field] of [
      ['resolution=week', 'resolution'],
      ['since=yesterday', 'since'],
      ['days=7', 'days'],
    ] as const) {
      const err = (await api.call('GET', `/api/v1/posture/history?${query}`).catch((e: unknown) => e)) as {
        status?: number;
        message?: string;
      };
      assert.is(err.status, 400, query);
      assert.match(String(err.message), field, query);
    }
  } finally {
    api.close();
  }
});

test('telemetry: pages, time ranges and the rows not keyed yet, the same both ways', async () => {
  const all = await same(['telemetry', 'gw-r1', '--json', '--limit', '2000']);
  const samples = JSON.parse(all.stdout) as { seq: number; receivedAt: string; metrics: Record<string, number> }[];
  assert.is(samples.length, 1300, 'two pages of the API (1000 + 300), keyed rows and the newest unkeyed ones');
  assert.equal(
    samples.map((s) => s.seq),
    Array.from({ length: 1300 }, (_, i) => i + 1),
    'in arrival order, gw-r2 left out',
  );
  assert.equal(samples[0]!.metrics, { temp: 21, rssi: -60 });
  const iso = (t: number) => new Date(t).toISOString();
  const range = await same([
    ...['telemetry', 'gw-r1', '--json', '--limit', '2000'],
    ...['--from', iso(base + 10 * MIN), '--to', iso(base + 20 * MIN)],
  ]);
  const inRange = JSON.parse(range.stdout) as { seq: number }[];
  assert.is(inRange.length, 400, 'from is inclusive, to exclusive');
  assert.is(inRange[0]!.seq, 401);
  const recent = JSON.parse((await same(['telemetry', 'gw-r1', '--since', '1h', '--json'])).stdout) as unknown[];
  assert.is(recent.length, 100);
  const text = await same(['telemetry', 'gw-r1', '--since', '1h', '--limit', '3']);
  assert.match(text.stdout, /^RECEIVED\s+DEVICE TIME\s+STREAM\s+SEQ\s+METRICS$/m);
  assert.match(text.stdout, /stream-a\s+1201\s+temp=21 rssi=-60$/m);
  assert.match(text.stderr, /more samples follow/);
  await same(['telemetry', 'gw-r3']);
  await same(['telemetry', 'gw-nope'], 1);
});

test('errors: the same code and message both ways', async () => {
  const r = await same(['device', 'revoke', 'gw-404'], 1);
  assert.match(r.stderr, /^error FLEET_DEVICE_UNKNOWN: no device gw-404 is registered\n$/);
  await same(['report', 'gw-404'], 1);
  // cmd send signs with --key on the host and with the credential through the API.
  const [d, s] = await Promise.all([
    fleetCli(['cmd', 'send', 'gw-404', 'reboot', '--key', hostKeyFile, ...onHost()]),
    fleetCli(['cmd', 'send', 'gw-404', 'reboot', ...throughApi()]),
  ]);
  assert.equal([d.code, d.stderr], [1, 'error FLEET_DEVICE_UNKNOWN: no device gw-404 is registered\n']);
  assert.equal([s.code, s.stderr], [d.code, d.stderr]);
  await same(['telemetry', 'gw-r1', '--from', 'yesterday'], 2);
});

test('fleet audit runs and stores the checks both ways, with the same findings and --fail-on gate', async () => {
  await same(['audit']);
  const [d, s] = await Promise.all([
    fleetCli(['audit', '--json', ...onHost()]),
    fleetCli(['audit', '--json', ...throughApi()]),
  ]);
  const findings = (r: RunResult) => (JSON.parse(r.stdout) as { findings: unknown[] }).findings;
  assert.equal(findings(s), findings(d));
  assert.ok(
    findings(d).some((f) => (f as { check: string; deviceId: string }).deviceId === 'gw-short'),
    'the certificate of gw-short expires within 30 days',
  );
  await same(['audit', '--fail-on', 'low'], 3);
  const runs = fleet.db.prepare('SELECT count(*) FROM audit_runs').pluck().get() as number;
  assert.ok(runs >= 6, 'each run is stored');
  const config = await fleetCli(['audit', '--config', join(files, 'none.json'), ...throughApi()]);
  assert.is(config.code, 2);
  assert.match(config.stderr, /--config goes with --data/);
});

test('device add, renew and revoke: the same output; the key is made where the command runs', async () => {
  const out = (mode: string) => join(files, `devices-${mode}`);
  const add = async (mode: 'data' | 'server', id: string) =>
    fleetCli(['device', 'add', id, '--out', join(out(mode), id), ...(mode === 'data' ? onHost() : throughApi())]);
  const [d, s] = await Promise.all([add('data', 'gw-add-d'), add('server', 'gw-add-s')]);
  assert.is(d.code, 0, d.output);
  assert.is(s.code, 0, s.output);
  const masked = (r: RunResult, mode: string, id: string) =>
    r.stdout.replaceAll(`devices-${mode}/${id}`, 'X').replaceAll(id, 'Y');
  assert.is(masked(s, 'server', 'gw-add-s'), masked(d, 'data', 'gw-add-d'));
  for (const [mode, id] of [
    ['data', 'gw-add-d'],
    ['server', 'gw-add-s'],
  ] as const) {
    const dir = join(out(mode), id);
    assert.is((statSync(join(dir, 'device.key')).mode & 0o777).toString(8), '600');
    const cert = new X509Certificate(readFileSync(join(dir, 'device.crt')));
    assert.is(cert.subject, `CN=${id}`);
    const key = createPublicKey(readFileSync(join(dir, 'device.key')));
    assert.ok(cert.publicKey.equals(key), 'the certificate is for the key written beside it');
    assert.ok(cert.verify(new X509Certificate(readFileSync(join(dir, 'ca.crt'))).publicKey));
    // The sealing key is made where the command runs too; the fleet answers with the key to seal for.
    assert.is((statSync(join(dir, 'seal.key')).mode & 0o777).toString(8), '600');
    assert.match(readFileSync(join(dir, 'backend-seal.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
  }
  const dup = await same(['device', 'add', 'gw-add-d', '--out', join(files, 'dup')], 1);
  assert.match(dup.stderr, /FLEET_DEVICE_EXISTS/);

  const renew = async (mode: 'data' | 'server', id: string) =>
    fleetCli([
      ...['device', 'renew', id, '--out', join(out(mode), `${id}-renewed`), '--revoke-old', '--days', '30'],
      ...(mode === 'data' ? onHost() : throughApi()),
    ]);
  const [rd, rs] = await Promise.all([renew('data', 'gw-add-d'), renew('server', 'gw-add-s')]);
  const mask = (r: RunResult, mode: string, id: string) =>
    r.stdout
      .replaceAll(`devices-${mode}/${id}`, 'X')
      .replaceAll(id, 'Y')
      .replace(/valid until \S+,/, 'valid until T,');
  assert.is(rd.code, 0, rd.output);
  assert.is(rs.code, 0, rs.output);
  assert.is(mask(rs, 'server', 'gw-add-s'), mask(rd, 'data', 'gw-add-d'));
  assert.match(rd.stdout, /new key .*device\.key \(0600\)/);

  const revoke = await Promise.all([
    fleetCli(['device', 'revoke', 'gw-add-d', ...onHost()]),
    fleetCli(['device', 'revoke', 'gw-add-s', ...throughApi()]),
  ]);
  assert.is(revoke[1].stdout.replace('gw-add-s', 'Y'), revoke[0].stdout.replace('gw-add-d', 'Y'));
  await same(['device', 'revoke', 'gw-add-d'], 0);
});

test('device add --bulk both ways; a rerun issues nothing', async () => {
  const bulk = (mode: 'data' | 'server', prefix: string) =>
    fleetCli([
      ...['device', 'add', '--bulk', '3', '--prefix', prefix, '--out', join(files, `bulk-${mode}`)],
      ...(mode === 'data' ? onHost() : throughApi()),
    ]);
  const [d, s] = await Promise.all([bulk('data', 'bd-'), bulk('server', 'bs-')]);
  assert.is(d.stdout, `3 devices issued, 0 already registered; credentials in ${join(files, 'bulk-data')}/<id>/\n`);
  assert.is(s.stdout, `3 devices issued, 0 already registered; credentials in ${join(files, 'bulk-server')}/<id>/\n`);
  statSync(join(files, 'bulk-server', 'bs-00003', 'device.key'));
  const again = await bulk('server', 'bs-');
  assert.match(again.stdout, /^0 devices issued, 3 already registered/);
});

test('enroll-token create both ways', async () => {
  const [d, s] = await Promise.all([
    fleetCli(['enroll-token', 'create', '--count', '2', '--json', ...onHost()]),
    fleetCli(['enroll-token', 'create', '--count', '2', '--json', ...throughApi()]),
  ]);
  for (const r of [d, s]) {
    assert.is(r.code, 0, r.output);
    const out = JSON.parse(r.stdout) as { tokens: string[]; expires: string };
    assert.equal(Object.keys(out), ['tokens', 'expires']);
    assert.is(out.tokens.length, 2);
  }
});

test('cmd send: signed with --key on the host, with the credential through the API; then listed alike', async () => {
  const args = ['cmd', 'send', 'gw-r1', 'set-relay', '--param', 'channel=1', '--param', 'state=on', '--json'];
  const d = await fleetCli([...args, '--key', hostKeyFile, ...onHost()]);
  const s = await fleetCli([...args, ...throughApi()]);
  for (const r of [d, s]) assert.is(r.code, 0, r.output);
  const rowOf = (r: RunResult) => JSON.parse(r.stdout) as { id: string; status: string; operator: string };
  assert.is(rowOf(d).status, 'pending');
  assert.is(rowOf(s).status, 'pending');
  assert.is(rowOf(d).operator, keyId(hostKey.publicKey), 'on the host, the --key signed it');
  assert.is(rowOf(s).operator, admin.kid, "through the API the operator's own key signed it");
  const store = createCommandStore(fleet.db);
  assert.is(store.get(rowOf(d).id)?.status, 'pending');
  assert.is(store.get(rowOf(s).id)?.status, 'pending');
  await same(['cmd', 'list']);
  await same(['cmd', 'list', '--device', 'gw-r1', '--json']);
  await same(['cmd', 'list', '--device', 'gw-r9', '--limit', '3']);

  const withKey = await fleetCli([...args, '--key', hostKeyFile, ...throughApi()]);
  assert.is(withKey.code, 2);
  assert.match(withKey.stderr, /drop --key/);
  const bad = await same(['cmd', 'send', 'gw-r1', 'set-relay', '--param', 'channel=9', '--param', 'state=on'], 2);
  assert.match(bad.stderr, /invalid parameters/);
});

test('through the API, a refused submission is a 400 naming the reason, and nothing is queued', async () => {
  const api = apiClientFor(fleet.dataDir, fleet.server.httpPort, { credential: admin.credential });
  try {
    const before = fleet.db.prepare('SELECT count(*) FROM commands').pluck().get();
    const { counter } = await api.call<{ counter: number }>('POST', '/api/v1/commands/counter');
    const forGw2 = signCommand(
      newCommandBody({ deviceId: 'gw-r2', command: 'reboot', params: {}, counter }),
      parsePrivateKeyPem(admin.credential).secretKey,
    );
    const r = await api.exchange('POST', '/api/v1/devices/gw-r1/commands', { envelope: forGw2.toString('base64') });
    assert.is(r.status, 400);
    assert.is((r.body as { code: string }).code, 'FLEET_COMMAND_INVALID');
    assert.match((r.body as { detail: string }).detail, /\(wrong-device\): it is signed for device gw-r2/);
    const garbage = await api.exchange('POST', '/api/v1/devices/gw-r1/commands', { envelope: 'not base64!' });
    assert.is(garbage.status, 400);
    assert.is((garbage.body as { code: string }).code, 'API_INVALID_REQUEST');
    assert.is(fleet.db.prepare('SELECT count(*) FROM commands').pluck().get(), before);
  } finally {
    api.close();
  }
});

test.run();
