// Who gets in: only registered, unrevoked devices with a certificate from the fleet CA whose CN is the client id.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { tmpDir } from '../helpers/tmp.js';
import { createRegistry } from '../../broker/src/db/registry.js';
import { initPki, loadCa, openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { provisionDevice } from '../../broker/src/fleet/provision.js';
import { generateKeyPair, issueDeviceCert, privateKeyPem } from '../../broker/src/pki/x509.js';

let fleet: TestFleet;
let registry: ReturnType<typeof createRegistry>;

test.before(async () => {
  fleet = await createTestFleet(['gw-001', 'gw-002', 'gw-rev1', 'gw-rev2']);
  await fleet.start();
  registry = createRegistry(fleet.db);
});
test.after(async () => {
  await fleet.close();
});

type Creds = { key: Buffer | string; cert: Buffer | string; ca: Buffer | string };

async function tryConnect(
  clientId: string,
  creds: Partial<Creds>,
): Promise<{ ok: true; client: mqtt.MqttClient } | { ok: false; error: string }> {
  const client = mqtt.connect(fleet.url(), {
    clientId,
    ...creds,
    ca: creds.ca ?? fleet.credentials('gw-001').ca,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  // A refused TLS 1.3 client certificate can surface as a bare 'close' without an 'error'.
  return new Promise((resolve) => {
    let error = 'closed';
    client.on('connect', () => resolve({ ok: true, client }));
    client.on('error', (e) => (error = e.message));
    client.on('close', () => {
      client.end(true);
      resolve({ ok: false, error });
    });
  });
}

const audits = (event: string) =>
  fleet.db.prepare('SELECT device_id, detail FROM audit WHERE event = ? ORDER BY id').all(event) as {
    device_id: string | null;
    detail: string;
  }[];

test('a registered device with its own certificate is admitted', async () => {
  const r = await tryConnect('gw-001', fleet.credentials('gw-001'));
  assert.ok(r.ok);
  if (r.ok) await r.client.endAsync();
});

test('no client certificate: the TLS handshake is refused', async () => {
  const error = await new Promise<string>((resolve) => {
    const s = tlsConnect({
      host: '127.0.0.1',
      port: fleet.server.mqttPort,
      ca: fleet.credentials('gw-001').ca,
      servername: 'localhost',
    });
    s.on('error', (e) => resolve(e.message));
    s.on('secureConnect', () => {
      // TLS 1.3 reports the refusal after the handshake, on the first read.
      s.write(Buffer.from([0x10, 0x00]));
    });
    s.on('close', () => resolve('closed'));
  });
  assert.match(error, /certificate|alert|closed|socket hang up|ECONNRESET/i);
  const r = await tryConnect('gw-001', {});
  assert.not.ok(r.ok);
  await waitFor(() => audits('tls.denied').length > 0, 'tls.denied audit');
});

test('a certificate from another CA is refused', async () => {
  const other = join(tmpDir(), 'other');
  await initPki(other);
  const db = openFleetDb(other);
  await provisionDevice(createRegistry(db), await loadCa(other), 'gw-001', join(other, 'dev'));
  db.close();
  const { readFileSync } = await import('node:fs');
  const r = await tryConnect('gw-001', {
    key: readFileSync(join(other, 'dev', 'device.key')),
    cert: readFileSync(join(other, 'dev', 'device.crt')),
  });
  assert.not.ok(r.ok);
});

test('CN differing from the client id is refused with CONNACK 5', async () => {
  const r = await tryConnect('gw-002', fleet.credentials('gw-001'));
  assert.not.ok(r.ok);
  if (!r.ok) assert.match(r.error, /Not authorized/i);
  const denied = audits('auth.denied').map((a) => JSON.parse(a.detail).reason);
  assert.ok(denied.includes('clientid-mismatch'));
});

test('a certificate from the fleet CA for an unregistered device is refused', async () => {
  const ca = await loadCa(fleet.dataDir);
  const keys = await generateKeyPair();
  const cert = await issueDeviceCert(ca, 'gw-ghost', keys.publicKey, 30);
  const r = await tryConnect('gw-ghost', { key: await privateKeyPem(keys.privateKey), cert: cert.toString('pem') });
  assert.not.ok(r.ok);
  assert.ok(
    audits('auth.denied').some((a) => a.device_id === 'gw-ghost' && JSON.parse(a.detail).reason === 'unregistered'),
  );
});

test('a revoked device is refused', async () => {
  registry.revoke('gw-rev1');
  const r = await tryConnect('gw-rev1', fleet.credentials('gw-rev1'));
  assert.not.ok(r.ok);
  assert.ok(audits('auth.denied').some((a) => a.device_id === 'gw-rev1' && JSON.parse(a.detail).reason === 'revoked'));
});

test('revoking a connected device drops its session within a second, without a restart', async () => {
  const r = await tryConnect('gw-rev2', fleet.credentials('gw-rev2'));
  assert.ok(r.ok);
  if (!r.ok) return;
  const closed = new Promise<number>((resolve) => r.client.once('close', () => resolve(Date.now())));
  const t0 = Date.now();
  registry.revoke('gw-rev2'); // another connection to the database, as the CLI would be
  const t1 = await closed;
  r.client.end(true);
  assert.ok(t1 - t0 < 1000, `dropped after ${t1 - t0} ms`);
  assert.ok(audits('session.revoked').some((a) => a.device_id === 'gw-rev2'));
  const again = await tryConnect('gw-rev2', fleet.credentials('gw-rev2'));
  assert.not.ok(again.ok);
});

test.run();
