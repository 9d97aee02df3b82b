// Operators through the API: the credential's private half is never accepted, names and keys are unique, the
// last admin cannot be revoked, and each change (refused or not) is in the audit trail with its outcome.
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiClient } from '../../broker/src/admin/api-client.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { addOperator, apiClientFor } from '../helpers/operators.js';

let fleet: TestFleet;
let admin: ApiClient;

const pair = () => generateKeyPairSync('ed25519');
const spki = (p: ReturnType<typeof pair>) => p.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const pkcs8 = (p: ReturnType<typeof pair>) => p.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

test.before(async () => {
  fleet = await createTestFleet();
  await fleet.start();
  const alice = await addOperator(fleet.db, 'alice', 'admin');
  admin = apiClientFor(fleet.dataDir, fleet.server.httpPort, { credential: alice.credential });
});

test.after(async () => {
  admin.close();
  await fleet.close();
});

test('a private key in place of the public key is refused (400), and nothing is registered', async () => {
  const res = await admin.exchange('POST', '/api/v1/operators', {
    name: 'bob',
    role: 'viewer',
    publicKey: pkcs8(pair()),
  });
  assert.is(res.status, 400);
  assert.is((res.body as { code: string }).code, 'FLEET_OPERATOR_INVALID');
  const list = await admin.call<{ items: { name: string }[] }>('GET', '/api/v1/operators');
  assert.equal(
    list.items.map((o) => o.name),
    ['alice'],
  );
});

test('names and keys are unique: a second one is a 409', async () => {
  const key = pair();
  assert.is(
    (await admin.exchange('POST', '/api/v1/operators', { name: 'bob', role: 'viewer', publicKey: spki(key) })).status,
    201,
  );
  const sameName = await admin.exchange('POST', '/api/v1/operators', {
    name: 'bob',
    role: 'admin',
    publicKey: spki(pair()),
  });
  assert.is(sameName.status, 409);
  const sameKey = await admin.exchange('POST', '/api/v1/operators', {
    name: 'carol',
    role: 'admin',
    publicKey: spki(key),
  });
  assert.is(sameKey.status, 409);
});

test('the last active admin cannot be revoked; every attempt is in the audit trail with its outcome', async () => {
  const res = await admin.exchange('POST', '/api/v1/operators/alice/revoke');
  assert.is(res.status, 409);
  assert.is((res.body as { code: string }).code, 'FLEET_LAST_ADMIN');
  const trail = await admin.call<{
    items: { action: string; objectId: string | null; outcome: string; status: number }[];
  }>('GET', '/api/v1/audit?action=operator.revoke');
  assert.equal(
    trail.items.map((r) => [r.objectId, r.outcome, r.status]),
    [['alice', 'failed', 409]],
  );
  const adds = await admin.call<{ items: { outcome: string; status: number }[] }>(
    'GET',
    '/api/v1/audit?action=operator.add',
  );
  assert.equal(
    adds.items.map((r) => r.status),
    [409, 409, 201, 400],
  );
});

test.run();
