// Sessions and the fleet audit: takeover policy, cloned-credential evidence, renewal, expiry, metrics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { get } from 'node:https';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createRegistry } from '../../broker/src/db/registry.js';
import { loadCa } from '../../broker/src/fleet/data-dir.js';
import { provisionDevice } from '../../broker/src/fleet/provision.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { fleetCli } from '../helpers/run.js';
import { readFileSync } from 'node:fs';

let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet(['gw-clone', 'gw-renew', 'gw-idle']);
  // A device whose certificate lapses in 10 days.
  await provisionDevice(
    createRegistry(fleet.db),
    await loadCa(fleet.dataDir),
    'gw-short',
    fleet.deviceDir('gw-short'),
    { validityDays: 10 },
  );
  await fleet.start();
});
test.after(async () => {
  await fleet.close();
});

const connect = (id: string, localAddress = '127.0.0.1', creds = fleet.credentials(id)) =>
  mqtt.connectAsync(fleet.url(), {
    clientId: id,
    ...creds,
    protocolVersion: 4,
    reconnectPeriod: 0,
    localAddress,
  } as mqtt.IClientOptions);

async function audit(args: string[] = []): Promise<{
  code: number | null;
  findings: { check: string; severity: string; deviceId: string | null; remediation: string }[];
}> {
  const r = await fleetCli(['audit', '--data', fleet.dataDir, '--json', ...args]);
  return { code: r.code, findings: (JSON.parse(r.stdout) as { findings: never[] }).findings };
}

test(
  'a second connection with the same certificate takes over; the event is recorded as a ' + 'possible clone',
  async () => {
    const first = await connect('gw-clone', '127.0.0.1');
    const firstClosed = new Promise<void>((r) => first.once('close', () => r()));
    const second = await connect('gw-clone', '127.0.0.3');
    await firstClosed;
    assert.ok(second.connected, 'the newer connection stays');
    const row = fleet.db
      .prepare(`SELECT address, detail FROM audit WHERE event = 'session.takeover' AND device_id = 'gw-clone'`)
      .get() as { address: string; detail: string };
    assert.is(row.address, '127.0.0.3');
    assert.is(JSON.parse(row.detail).previousAddress, '127.0.0.1');
    assert.is(fleet.server.metrics.takeovers.get(), 1);
    second.end(true);
  },
);

test(
  'fleet audit reports cloning, duplicate ids, expiring certificates and unseen devices, with ' + 'remediations',
  async () => {
    const { code, findings } = await audit();
    assert.is(code, 0);
    const has = (check: string, deviceId: string | null) =>
      findings.find((f) => f.check === check && f.deviceId === deviceId);
    assert.ok(has('cert-multiple-addresses', 'gw-clone'), JSON.stringify(findings));
    assert.ok(has('duplicate-client-id', 'gw-clone'));
    assert.is(has('cert-expiring', 'gw-short')?.severity, 'medium');
    assert.not.ok(has('cert-expiring', 'gw-idle'));
    assert.not.ok(
      findings.some((f) => f.check === 'ca-expiring'),
      'a fresh CA is fine',
    );
    for (const f of findings) assert.ok(f.remediation.length > 10);
    const stored = fleet.db
      .prepare('SELECT count(*) FROM audit_findings WHERE run_id = (SELECT max(id) FROM audit_runs)')
      .pluck()
      .get();
    assert.is(stored, findings.length, 'the run is stored for the dashboard');
    assert.is((await audit(['--fail-on', 'high'])).code, 3, '--fail-on gates CI');
  },
);

test('devices never or long not seen are reported (threshold from the config)', async () => {
  const cfg = join(fleet.deviceDir('gw-idle'), '..', 'fleet.json');
  (await import('node:fs')).writeFileSync(cfg, JSON.stringify({ audit: { notSeenForDays: 0.00001 } }));
  await new Promise((r) => setTimeout(r, 50));
  const { findings } = await audit(['--config', cfg]);
  assert.ok(findings.some((f) => f.check === 'device-never-seen' && f.deviceId === 'gw-idle'));
  assert.ok(findings.some((f) => f.check === 'device-not-seen' && f.deviceId === 'gw-clone'));
});

test('a revoked device still connected is critical in the audit', async () => {
  fleet.db.prepare(`UPDATE devices SET status = 'revoked', online = 1 WHERE id = 'gw-idle'`).run();
  const { findings } = await audit();
  assert.is(findings.find((f) => f.check === 'revoked-connected')?.severity, 'critical');
  fleet.db.prepare(`UPDATE devices SET online = 0 WHERE id = 'gw-idle'`).run();
});

test('fleet device renew issues a new certificate; --revoke-old drops sessions on the old one', async () => {
  const oldCreds = fleet.credentials('gw-renew');
  const old = await connect('gw-renew', '127.0.0.1', oldCreds);
  const out = join(fleet.deviceDir('gw-renew'), 'renewed');
  const r = await fleetCli([
    'device',
    'renew',
    'gw-renew',
    '--data',
    fleet.dataDir,
    '--out',
    out,
    '--days',
    '400',
    '--revoke-old',
  ]);
  assert.is(r.code, 0, r.output);
  await waitFor(() => !old.connected, 'old session dropped');
  old.end(true);
  const fresh = await connect('gw-renew', '127.0.0.1', {
    key: readFileSync(join(out, 'device.key')),
    cert: readFileSync(join(out, 'device.crt')),
    ca: oldCreds.ca,
  });
  assert.ok(fresh.connected);
  fresh.end(true);
  const expires = (
    JSON.parse((await fleetCli(['device', 'list', '--data', fleet.dataDir, '--json'])).stdout) as {
      id: string;
      certificateExpires: string;
    }[]
  ).find((d) => d.id === 'gw-renew')!.certificateExpires;
  assert.ok(Date.parse(expires) > Date.now() + 390 * 86_400_000);
  const revoked = await fleetCli(['device', 'renew', 'gw-idle', '--data', fleet.dataDir, '--out', join(out, 'x')]);
  assert.is(revoked.code, 1);
  assert.match(revoked.stderr, /FLEET_DEVICE_REVOKED/);
});

test('/metrics exposes connections, traffic, denials, throttles and ingest lag in Prometheus text', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    get(`https://127.0.0.1:${fleet.server.httpPort}/metrics`, { ca: fleet.credentials('gw-clone').ca }, (res) => {
      let t = '';
      res.on('data', (c) => (t += c));
      res.on('end', () => resolve(t));
    }).on('error', reject);
  });
  for (const name of [
    'edgeward_connected_devices',
    'edgeward_messages_in_total',
    'edgeward_messages_out_total',
    'edgeward_denials_total',
    'edgeward_throttles_total',
    'edgeward_ingest_queue_age_ms',
    'edgeward_session_takeovers_total',
  ]) {
    assert.match(body, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'), name);
  }
  assert.match(body, /^edgeward_session_takeovers_total 1$/m);
});

test.run();
