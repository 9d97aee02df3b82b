// The fleet CLI as an operator uses it: pki init, device add/list/revoke, exit codes and file modes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { fleetCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const root = tmpDir();
const data = join(root, 'data');
const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

test('pki init creates the CA and server certificate with private keys 0600', async () => {
  const r = await fleetCli(['pki', 'init', '--data', data, '--san', 'DNS:fleet.example,IP:10.0.0.5']);
  assert.is(r.code, 0, r.output);
  assert.is(mode(join(data, 'pki', 'ca.key')), '600');
  assert.is(mode(join(data, 'pki', 'server.key')), '600');
  assert.is(mode(data), '700');
  const again = await fleetCli(['pki', 'init', '--data', data]);
  assert.is(again.code, 1);
  assert.match(again.stderr, /FLEET_PKI_EXISTS/);
});

test('device add writes the device files; list --json reports it', async () => {
  const out = join(root, 'gw-001');
  const r = await fleetCli(['device', 'add', 'gw-001', '--data', data, '--out', out]);
  assert.is(r.code, 0, r.output);
  assert.is(mode(join(out, 'device.key')), '600');
  for (const f of ['device.crt', 'ca.crt']) statSync(join(out, f));
  // The device's sealing key, made here with its TLS key, and the backend's public key it seals for; the public
  // half of the device's key is registered with it.
  assert.is(mode(join(out, 'seal.key')), '600');
  assert.is(readFileSync(join(out, 'backend-seal.pub'), 'utf8'), readFileSync(join(data, 'pki', 'seal.pub'), 'utf8'));
  assert.match(r.stdout, /sealing key .*seal\.key/);
  const db = new Database(join(data, 'fleet.db'), { readonly: true });
  assert.is(db.prepare(`SELECT count(*) FROM device_keys WHERE device_id = 'gw-001'`).pluck().get(), 1);
  db.close();
  const list = await fleetCli(['device', 'list', '--data', data, '--json']);
  assert.is(list.code, 0, list.output);
  const devices = JSON.parse(list.stdout) as Record<string, unknown>[];
  assert.is(devices.length, 1);
  const d = devices[0]!;
  for (const k of ['id', 'status', 'lastSeen', 'telemetryCount', 'certificateExpires']) assert.ok(k in d, k);
  assert.is(d.id, 'gw-001');
  assert.is(d.status, 'active');
  assert.is(d.lastSeen, null);
  assert.is(d.telemetryCount, 0);
  assert.ok(Date.parse(d.certificateExpires as string) > Date.now() + 300 * 86_400_000);
});

test('device add refuses duplicates and bad ids', async () => {
  const dup = await fleetCli(['device', 'add', 'gw-001', '--data', data, '--out', join(root, 'x')]);
  assert.is(dup.code, 1);
  assert.match(dup.stderr, /FLEET_DEVICE_EXISTS/);
  const bad = await fleetCli(['device', 'add', 'GW_1', '--data', data, '--out', join(root, 'y')]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /invalid device id/);
});

test('device revoke marks it revoked', async () => {
  const r = await fleetCli(['device', 'revoke', 'gw-001', '--data', data]);
  assert.is(r.code, 0, r.output);
  const list = JSON.parse((await fleetCli(['device', 'list', '--data', data, '--json'])).stdout) as {
    status: string;
  }[];
  assert.is(list[0]!.status, 'revoked');
  const unknown = await fleetCli(['device', 'revoke', 'gw-404', '--data', data]);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /FLEET_DEVICE_UNKNOWN/);
});

test('usage errors exit 2; --help exits 0', async () => {
  assert.is((await fleetCli(['device', 'list'])).code, 2);
  assert.is((await fleetCli(['bogus'])).code, 2);
  assert.is((await fleetCli(['device', 'list', '--data', data, '--nope'])).code, 2);
  const help = await fleetCli(['device', 'add', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /fleet device add ID/);
  const missing = await fleetCli(['device', 'list', '--data', join(root, 'nothing')]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /FLEET_DATA_DIR/);
});

test.run();
