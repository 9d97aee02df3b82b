// Tokens and proofs of possession against a running fleet server: a proof works once, for this fleet, within a
// minute, for a registered active operator, for no more than its role; a token dies with its operator at once.
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiClient } from '../../broker/src/admin/api-client.js';
import { fleetIdOf } from '../../broker/src/api/fleet-id.js';
import { createProof, PROOF_TYPE } from '../../broker/src/api/proof.js';
import { createOperatorStore } from '../../broker/src/db/operators.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { addOperator, apiClientFor, type TestOperator } from '../helpers/operators.js';

let fleet: TestFleet;
let alice: TestOperator;
let fleetId: string;
const clients: ApiClient[] = [];

const client = (who: { credential?: string; token?: string }) => {
  const c = apiClientFor(fleet.dataDir, fleet.server.httpPort, who);
  clients.push(c);
  return c;
};

/** POST /api/v1/auth/token with `assertion`; the status and problem reason (or the token). */
async function exchange(
  assertion: string,
): Promise<{ status: number; reason?: string; body: Record<string, unknown> }> {
  const res = await client({ token: 'none' }).exchange('POST', '/api/v1/auth/token', { assertion });
  const body = res.body as Record<string, unknown>;
  return { status: res.status, body, ...(typeof body.reason === 'string' ? { reason: body.reason } : {}) };
}

test.before(async () => {
  fleet = await createTestFleet(['gw-0001']);
  await fleet.start();
  alice = await addOperator(fleet.db, 'alice', 'admin');
  fleetId = fleetIdOf(readFileSync(join(fleet.dataDir, 'pki', 'ca.crt')));
});

test.after(async () => {
  for (const c of clients) c.close();
  await fleet.close();
});

test('a proof of possession gets one token: the same assertion again is refused as replayed', async () => {
  const assertion = await createProof({ privateKeyPem: alice.credential, kid: alice.kid, audience: fleetId });
  const first = await exchange(assertion);
  assert.is(first.status, 201);
  assert.is(first.body.operator, 'alice');
  const expires = Date.parse(String(first.body.expiresAt)) - Date.now();
  assert.ok(expires > 14 * 60_000 && expires <= 15 * 60_000, `default lifetime 15 min, got ${expires} ms`);
  const again = await exchange(assertion);
  assert.is(again.status, 401);
  assert.is(again.reason, 'replayed');
});

test('proofs refused: another fleet, too long-lived, expired, unregistered key, garbage', async () => {
  const other = await createProof({
    privateKeyPem: alice.credential,
    kid: alice.kid,
    audience: 'urn:edgeward:fleet:00000000000000000000000000000000',
  });
  assert.is((await exchange(other)).reason, 'wrong-fleet');
  const sign = (iat: number, exp: number) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: alice.kid, typ: PROOF_TYPE })
      .setIssuer(alice.kid)
      .setSubject(alice.kid)
      .setAudience(fleetId)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(createPrivateKey(alice.credential));
  const now = Math.floor(Date.now() / 1000);
  assert.is((await exchange(await sign(now, now + 3600))).reason, 'expired');
  assert.is((await exchange(await sign(now - 300, now - 200))).reason, 'expired');
  const stranger = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const unknown = await createProof({ privateKeyPem: stranger, kid: '0123456789abcdef', audience: fleetId });
  assert.is((await exchange(unknown)).reason, 'unknown-operator');
  const forged = await createProof({ privateKeyPem: stranger, kid: alice.kid, audience: fleetId });
  assert.is((await exchange(forged)).reason, 'bad-signature');
  assert.is((await exchange('x'.repeat(40))).status, 401);
});

test('a token carries at most what the role allows; the lifetime is capped at an hour', async () => {
  const viewer = await addOperator(fleet.db, 'vera', 'viewer');
  const ask = (request: Parameters<typeof createProof>[0]['request']) =>
    createProof({
      privateKeyPem: viewer.credential,
      kid: viewer.kid,
      audience: fleetId,
      ...(request ? { request } : {}),
    });
  const more = await exchange(await ask({ scopes: ['devices:read', 'devices:write'] }));
  assert.is(more.status, 403);
  assert.match(String(more.body.detail), /devices:write/);
  const narrow = await exchange(await ask({ scopes: ['devices:read'] }));
  assert.is(narrow.status, 201);
  assert.equal(narrow.body.scopes, ['devices:read']);
  assert.is((await exchange(await ask({ ttlSeconds: 3601 }))).status, 400);
  const hour = await exchange(await ask({ ttlSeconds: 3600 }));
  assert.is(hour.status, 201);
  const full = await exchange(await ask(undefined));
  assert.equal(full.body.scopes, ['devices:read', 'telemetry:read', 'reports:read', 'commands:read', 'events:read']);
});

test('a revoked operator: its token is refused within a second, whoever revoked it (here another writer)', async () => {
  const bob = await addOperator(fleet.db, 'bob', 'operator');
  const token = (await client({ credential: bob.credential }).obtainToken()).token;
  const asBob = client({ token });
  assert.is((await asBob.exchange('GET', '/api/v1/devices')).status, 200);
  // The test's own connection to fleet.db stands for `fleet operator revoke --data` in another process.
  createOperatorStore(fleet.db).revoke('bob', 'test');
  const revokedAt = Date.now();
  let status = 0;
  while (Date.now() - revokedAt < 1000) {
    status = (await asBob.exchange('GET', '/api/v1/devices')).status;
    if (status === 401) break;
  }
  assert.is(status, 401, 'still accepted a second after the revocation');
  const proof = await createProof({ privateKeyPem: bob.credential, kid: bob.kid, audience: fleetId });
  assert.is((await exchange(proof)).reason, 'operator-revoked');
});

test.run();
