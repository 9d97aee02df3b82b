// The token service on a real SQLite file with a fake clock: a verified token is remembered, but only until it
// expires, and a remembered token vouches for nothing but its own exact bytes; a token signed with the server's own
// key but claiming a lifetime the server never issues is refused.
import { createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTokenService, MAX_TOKEN_TTL_MS } from '../../broker/src/api/access-tokens.js';
import { openDb } from '../../broker/src/db/open.js';
import { tmpDir } from '../helpers/tmp.js';

test('a verified token is accepted again until it expires, then refused as expired', async () => {
  const db = openDb(join(tmpDir('edgeward-tokens-'), 'fleet.db'));
  let clock = Date.parse('2026-12-01T12:00:00Z');
  const tokens = createTokenService({ db, issuer: 'fleet-test', now: () => clock });
  const { token } = await tokens.issue({
    operatorId: 1,
    operator: 'alice',
    role: 'viewer',
    scopes: ['devices:read'],
    devices: null,
    ttlMs: 60_000,
  });
  const first = await tokens.verify(token);
  assert.ok(first.ok);
  clock += 59_000;
  const again = await tokens.verify(token);
  assert.ok(again.ok && again.claims.operator === 'alice');
  // One character inside the signature changed (not the last, whose low bits are padding): checked afresh.
  const at = token.length - 10;
  const tampered = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
  assert.equal(await tokens.verify(tampered), { ok: false, reason: 'bad-signature' });
  clock += 2_000;
  assert.equal(await tokens.verify(token), { ok: false, reason: 'expired' });
  db.close();
});

test("a token with the server's signature is refused claiming a longer life or later birth than issued", async () => {
  const db = openDb(join(tmpDir('edgeward-tokens-'), 'fleet.db'));
  const clock = Date.parse('2026-12-01T12:00:00Z');
  const tokens = createTokenService({ db, issuer: 'fleet-test', now: () => clock });
  const issue = { operatorId: 1, operator: 'alice', role: 'admin' as const, devices: null };
  const real = await tokens.issue({ ...issue, scopes: ['devices:read'], ttlMs: MAX_TOKEN_TTL_MS });
  assert.ok((await tokens.verify(real.token)).ok, 'the longest token the server issues verifies');
  // The signing key as a thief of fleet.db (or of a backup) holds it.
  const row = db.prepare('SELECT kid, private_key FROM token_keys').get() as { kid: string; private_key: string };
  const forge = (iat: number, exp: number) =>
    new SignJWT({ role: 'admin', scope: 'devices:read', oid: 1, name: 'alice' })
      .setProtectedHeader({ alg: 'EdDSA', kid: row.kid, typ: 'at+jwt' })
      .setIssuer('fleet-test')
      .setAudience('fleet-test')
      .setSubject('operator:alice')
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti('forged')
      .sign(createPrivateKey(row.private_key));
  const now = clock / 1000;
  assert.ok((await tokens.verify(await forge(now, now + 3600))).ok, 'as issued: an hour from now');
  const year = await forge(now, now + 365 * 86_400);
  assert.equal(await tokens.verify(year), { ok: false, reason: 'lifetime' });
  const later = await forge(now + 30 * 86_400, now + 30 * 86_400 + 600);
  assert.equal(await tokens.verify(later), { ok: false, reason: 'lifetime' }, 'issued a month from now');
  const skewed = await forge(now + 120, now + 720);
  assert.ok((await tokens.verify(skewed)).ok, "another node's clock two minutes ahead");
  db.close();
});

test.run();
