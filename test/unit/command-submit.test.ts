// A signed command submitted through the operator API is checked before it is queued: signed by the submitting
// operator's own key, for this device, valid, unexpired, with a counter reserved and not used before. Each
// refusal names its reason (FLEET_COMMAND_INVALID) and queues nothing. Run on the administration service over a
// real fleet database, as the API's handlers call it.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAdminService } from '../../broker/src/admin/local.js';
import type { FleetAdmin } from '../../broker/src/admin/types.js';
import type { Db } from '../../broker/src/db/open.js';
import { createOperatorStore } from '../../broker/src/db/operators.js';
import { createRegistry } from '../../broker/src/db/registry.js';
import { initPki, loadCa, openFleetDb } from '../../broker/src/fleet/data-dir.js';
import { provisionDevice } from '../../broker/src/fleet/provision.js';
import {
  type CommandBody,
  encodeCommandBody,
  newCommandBody,
  signCommand,
  signCommandBytes,
} from '../../shared/src/commands/index.js';
import {
  type Ed25519KeyPair,
  encode,
  generateKeyPair,
  keyIdBytes,
  parsePrivateKeyPem,
  sign,
} from '../../shared/src/index.js';
import { addOperator } from '../helpers/operators.js';
import { tmpDir } from '../helpers/tmp.js';

let db: Db;
let alice: FleetAdmin;
let aliceKey: Ed25519KeyPair;
let bobKey: Ed25519KeyPair;
/** Alice's view limited to gw-2 (a device-limited token). */
let aliceOnGw2: FleetAdmin;
/** The server host (--data): any key the devices trust may sign. */
let host: FleetAdmin;

const queued = () => db.prepare('SELECT count(*) FROM commands').pluck().get() as number;
const events = () => db.prepare(`SELECT count(*) FROM audit WHERE event = 'command.queued'`).pluck().get() as number;

test.before(async () => {
  const dir = join(tmpDir('edgeward-submit-'), 'data');
  await initPki(dir);
  db = openFleetDb(dir);
  const registry = createRegistry(db);
  const ca = await loadCa(dir);
  for (const id of ['gw-1', 'gw-2', 'gw-gone']) await provisionDevice(registry, ca, id, join(dir, '..', id));
  registry.revoke('gw-gone');
  const a = await addOperator(db, 'alice', 'operator');
  const b = await addOperator(db, 'bob', 'operator');
  aliceKey = parsePrivateKeyPem(a.credential);
  bobKey = parsePrivateKeyPem(b.credential);
  const service = createAdminService({ db, loadCa: async () => ca });
  const operatorId = createOperatorStore(db).byName('alice')!.id;
  alice = service.forCaller({ actor: 'operator:alice', devices: null, operatorId });
  aliceOnGw2 = service.forCaller({ actor: 'operator:alice', devices: ['gw-2'], operatorId });
  host = service.forCaller({ actor: 'cli:root@host', devices: null });
});

test.after(() => {
  db.close();
});

/** A body for gw-1 with a freshly reserved counter of Alice's key. */
async function body(over: Partial<CommandBody> = {}): Promise<CommandBody> {
  const { counter } = await alice.commands.reserveCounter();
  return { ...newCommandBody({ deviceId: 'gw-1', command: 'reboot', params: {}, counter }), ...over };
}

/** The submission is refused for `reason`, and nothing is queued or logged. */
async function refused(admin: FleetAdmin, deviceId: string, envelope: Uint8Array, reason: string | RegExp) {
  const [before, logged] = [queued(), events()];
  try {
    await admin.commands.submit(deviceId, envelope);
    assert.unreachable(`queued, but should be refused (${reason})`);
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (typeof reason === 'string') {
      assert.is(e.code, 'FLEET_COMMAND_INVALID', e.message);
      assert.match(e.message, `(${reason})`);
    } else assert.match(`${e.code}: ${e.message}`, reason);
  }
  assert.is(queued(), before, 'nothing queued');
  assert.is(events(), logged, 'no command.queued event');
}

test('a command signed with the operator key, for this device, with a reserved counter, is queued', async () => {
  const b = await body();
  const row = await alice.commands.submit('gw-1', signCommand(b, aliceKey.secretKey));
  assert.is(row.id, b.id);
  assert.is(row.status, 'pending');
  assert.is(row.operator, (await alice.commands.reserveCounter()).kid);
  assert.is(row.signedBy, 'alice', 'the operator who holds the key');
  assert.is((await alice.commands.list({ limit: 1 })).items[0]!.signedBy, 'alice');
  assert.is(events(), 1);
  assert.equal(await alice.commands.get(b.id), row);
});

test('signed by another registered operator: wrong-key', async () => {
  const { counter } = await bobReserve();
  const b = newCommandBody({ deviceId: 'gw-1', command: 'reboot', params: {}, counter });
  await refused(alice, 'gw-1', signCommand(b, bobKey.secretKey), 'wrong-key');
});

/** Bob's counter, reserved as the host would (his own API caller is not needed here). */
const bobReserve = () => host.commands.reserveCounter(Buffer.from(keyIdBytes(bobKey.publicKey)).toString('hex'));

test("the operator's key id with someone else's signature: bad-signature", async () => {
  const bodyBytes = encodeCommandBody(await body());
  const forged = encode({
    v: 1,
    body: bodyBytes,
    kid: keyIdBytes(aliceKey.publicKey),
    sig: sign(Buffer.concat([Buffer.from('edgeward/cmd/v1\0', 'latin1'), bodyBytes]), bobKey.secretKey),
  });
  await refused(alice, 'gw-1', forged, 'bad-signature');
});

test('signed for another device: wrong-device', async () => {
  const b = await body({ deviceId: 'gw-2' });
  await refused(alice, 'gw-1', signCommand(b, aliceKey.secretKey), 'wrong-device');
});

test('a counter used before: counter-reused; one never reserved: counter-not-reserved', async () => {
  const first = await body();
  await alice.commands.submit('gw-1', signCommand(first, aliceKey.secretKey));
  const again = newCommandBody({ deviceId: 'gw-1', command: 'reboot', params: {}, counter: first.counter });
  await refused(alice, 'gw-1', signCommand(again, aliceKey.secretKey), 'counter-reused');
  const ahead = await body();
  await refused(
    alice,
    'gw-1',
    signCommand({ ...ahead, counter: ahead.counter + 5 }, aliceKey.secretKey),
    'counter-not-reserved',
  );
});

test('expired, issued ahead of the clock, or valid for more than a day: refused', async () => {
  const now = Date.now();
  const expired = await body({ iat: now - 600_000, exp: now - 1000 });
  await refused(alice, 'gw-1', signCommand(expired, aliceKey.secretKey), 'expired');
  const future = await body({ iat: now + 3600_000, exp: now + 3660_000 });
  await refused(alice, 'gw-1', signCommand(future, aliceKey.secretKey), 'bad-lifetime');
});

test('bad parameters and unknown commands, signed all the same: refused', async () => {
  const badParams = encode({ ...(await body({ command: 'set-relay' })), params: { channel: 99, state: 'on' } });
  await refused(alice, 'gw-1', signCommandBytes(badParams, aliceKey.secretKey), 'invalid-params');
  const unknown = encode({ ...(await body({ command: 'self-destruct' })) });
  await refused(alice, 'gw-1', signCommandBytes(unknown, aliceKey.secretKey), 'unknown-command');
});

test('not an envelope, or no signature: malformed, unsigned', async () => {
  await refused(alice, 'gw-1', Buffer.from('not cbor at all'), 'malformed');
  await refused(alice, 'gw-1', encode({ v: 1, body: encodeCommandBody(await body()) }), 'unsigned');
});

test('the same command id again, with a new counter: duplicate-id', async () => {
  const first = await body();
  await alice.commands.submit('gw-1', signCommand(first, aliceKey.secretKey));
  const copy = await body({ id: first.id });
  await refused(alice, 'gw-1', signCommand(copy, aliceKey.secretKey), 'duplicate-id');
});

test('unknown, revoked, or not visible to a device-limited caller: the device is refused first', async () => {
  const b = await body({ deviceId: 'gw-nope' });
  await refused(alice, 'gw-nope', signCommand(b, aliceKey.secretKey), /^FLEET_DEVICE_UNKNOWN/);
  await refused(alice, 'gw-gone', signCommand(await body({ deviceId: 'gw-gone' }), aliceKey.secretKey), /REVOKED/);
  await refused(aliceOnGw2, 'gw-1', signCommand(await body(), aliceKey.secretKey), /^FLEET_DEVICE_UNKNOWN/);
  const listed = await aliceOnGw2.commands.list();
  assert.equal(listed.items, [], "a token limited to gw-2 sees none of gw-1's commands");
  const id = (await alice.commands.list({ limit: 1 })).items[0]!.id;
  try {
    await aliceOnGw2.commands.get(id);
    assert.unreachable('a command of gw-1 shown to a token limited to gw-2');
  } catch (err) {
    assert.is((err as { code: string }).code, 'FLEET_COMMAND_UNKNOWN');
  }
});

test('an operator reserves counters of its own key only; the host any key', async () => {
  const other = Buffer.from(keyIdBytes(bobKey.publicKey)).toString('hex');
  try {
    await alice.commands.reserveCounter(other);
    assert.unreachable("alice reserved bob's counter");
  } catch (err) {
    assert.is((err as { code: string }).code, 'FLEET_COMMAND_INVALID');
  }
  // On the host, an unregistered key the devices trust signs; its counter must still be reserved and unused.
  const stranger = generateKeyPair();
  const kid = Buffer.from(keyIdBytes(stranger.publicKey)).toString('hex');
  const { counter } = await host.commands.reserveCounter(kid);
  const b = newCommandBody({ deviceId: 'gw-2', command: 'reboot', params: {}, counter });
  const row = await host.commands.submit('gw-2', signCommand(b, stranger.secretKey));
  assert.is(row.operator, kid);
  await refused(host, 'gw-2', signCommand({ ...b, id: 'another-id-0001' }, stranger.secretKey), 'counter-reused');
});

test('lists page newest first with a cursor', async () => {
  const all = await alice.commands.list({ limit: 1000 });
  const pages: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await alice.commands.list({ limit: 2, ...(cursor ? { cursor } : {}) });
    pages.push(...page.items.map((r) => r.id));
    cursor = page.next;
  } while (cursor);
  assert.equal(
    pages,
    all.items.map((r) => r.id),
  );
  assert.ok(all.items.length >= 4);
  const gw2 = await alice.commands.list({ deviceId: 'gw-2' });
  assert.ok(gw2.items.every((r) => r.deviceId === 'gw-2') && gw2.items.length === 1);
});

test.run();
