// The ingest thread's opener (broker/src/fleet/ingest-open.ts) on a real fleet database: it opens a device's
// sealed messages with the shared key it keeps per device key, refuses with a typed verdict (never a throw), and
// stops opening with a key retired by another process once its cached entry is KEY_RECHECK_MS old: the cached
// shared key is dropped then, and a key made active again is looked up afresh.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDb } from '../../broker/src/db/open.js';
import { createOpener, KEY_RECHECK_MS, type Opened } from '../../broker/src/fleet/ingest-open.js';
import { createDeviceKeyStore } from '../../broker/src/fleet/seal-keys.js';
import {
  deviceTopic,
  encode,
  generateSealKeyPair,
  hexKid,
  sealChannel,
  sealMessage,
  type SealKeyPair,
} from '../../shared/src/index.js';
import { tmpDir } from '../helpers/tmp.js';

const DEVICE = 'gw-seal-01';
const backend = generateSealKeyPair();
const message = encode({
  v: 1,
  id: 'msg-00000001',
  ts: 1,
  stream: 'stream-1',
  samples: [{ seq: 1, ts: 1, m: { t: 1 } }],
});

function fleet() {
  const db = openDb(join(tmpDir('edgeward-ingest-open-'), 'fleet.db'));
  db.prepare(`INSERT INTO devices (id, status, created_at) VALUES (?, 'active', 0)`).run(DEVICE);
  const keys = createDeviceKeyStore(db);
  let clock = 1_000_000;
  const opener = createOpener(db, { secretKey: backend.secretKey, mode: 'required' }, () => clock);
  return {
    db,
    keys,
    opener,
    advance: (ms: number) => void (clock += ms),
    retire: (pair: SealKeyPair) =>
      db.prepare('UPDATE device_keys SET retired_at = 1 WHERE device_id = ? AND key_id = ?').run(DEVICE, pair.kid),
  };
}

const sealed = (pair: SealKeyPair, channel: 'telemetry' | 'status' = 'telemetry', msg = message) =>
  sealMessage(sealChannel(pair, backend.publicKey), deviceTopic(DEVICE, channel), msg);

function refusal(o: Opened): string {
  assert.not.ok(o.ok, 'expected a refusal');
  return o.ok ? '' : o.code;
}

test('opens a registered key’s messages to the same bytes, and records the key the device now uses', () => {
  const f = fleet();
  const device = generateSealKeyPair();
  f.keys.add(DEVICE, device.publicKey);
  for (let i = 0; i < 3; i++) {
    const o = f.opener.open(DEVICE, 'telemetry', sealed(device));
    assert.ok(o.ok);
    if (o.ok) assert.equal(Buffer.from(o.payload), message);
  }
  assert.is(hexKid(f.keys.current(DEVICE)!.kid), hexKid(device.kid));
  f.db.close();
});

test('refusals are typed verdicts: flipped bit, other topic, unknown key, unsealed, not an envelope', () => {
  const f = fleet();
  const device = generateSealKeyPair();
  f.keys.add(DEVICE, device.publicKey);
  const flipped = Buffer.from(sealed(device));
  flipped[flipped.length - 1]! ^= 1;
  assert.is(refusal(f.opener.open(DEVICE, 'telemetry', flipped)), 'SEAL_AUTH_FAILED');
  assert.is(refusal(f.opener.open(DEVICE, 'telemetry', sealed(device, 'status'))), 'SEAL_AUTH_FAILED');
  assert.is(refusal(f.opener.open(DEVICE, 'telemetry', sealed(generateSealKeyPair()))), 'SEAL_UNKNOWN_KEY');
  assert.is(refusal(f.opener.open(DEVICE, 'telemetry', message)), 'SEAL_REQUIRED');
  assert.is(refusal(f.opener.open(DEVICE, 'telemetry', Buffer.from([0x85, 0x01]))), 'SEAL_BAD_ENVELOPE');
  // A good message still opens after the refusals: none of them touched the cached key.
  assert.ok(f.opener.open(DEVICE, 'telemetry', sealed(device)).ok);
  f.db.close();
});

test('a key retired by another process: its cached shared key is dropped at the recheck, and stays refused', () => {
  const f = fleet();
  const device = generateSealKeyPair();
  f.keys.add(DEVICE, device.publicKey);
  assert.ok(f.opener.open(DEVICE, 'telemetry', sealed(device)).ok);
  f.retire(device);
  // Within KEY_RECHECK_MS the cached entry still opens (the documented bound on how late a retirement is seen).
  f.advance(KEY_RECHECK_MS - 1);
  assert.ok(f.opener.open(DEVICE, 'telemetry', sealed(device)).ok);
  f.advance(2);
  assert.is(refusal(f.opener.open(DEVICE, 'telemetry', sealed(device))), 'SEAL_UNKNOWN_KEY');
  // No entry is left behind: the next message is looked up again, without waiting for another recheck.
  assert.is(refusal(f.opener.open(DEVICE, 'telemetry', sealed(device))), 'SEAL_UNKNOWN_KEY');
  f.keys.add(DEVICE, device.publicKey);
  assert.ok(f.opener.open(DEVICE, 'telemetry', sealed(device)).ok, 'active again: looked up afresh');
  f.db.close();
});

test('rotation: both active keys open; after the old one is retired, only the new one does', () => {
  const f = fleet();
  const old = generateSealKeyPair();
  const next = generateSealKeyPair();
  f.keys.add(DEVICE, old.publicKey);
  assert.ok(f.opener.open(DEVICE, 'telemetry', sealed(old)).ok);
  f.keys.add(DEVICE, next.publicKey);
  f.advance(1);
  assert.ok(f.opener.open(DEVICE, 'telemetry', sealed(next)).ok);
  assert.is(hexKid(f.keys.current(DEVICE)!.kid), hexKid(next.kid), 'sealed to the key the device switched to');
  f.keys.retireAllBut(DEVICE, next.kid);
  f.advance(KEY_RECHECK_MS + 1);
  assert.is(refusal(f.opener.open(DEVICE, 'telemetry', sealed(old))), 'SEAL_UNKNOWN_KEY');
  assert.ok(f.opener.open(DEVICE, 'telemetry', sealed(next)).ok);
  f.db.close();
});

test.run();
