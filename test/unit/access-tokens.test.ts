// The token service on a real SQLite file with a fake clock: a verified token is remembered, but only until it
// expires, and a remembered token vouches for nothing but its own exact bytes.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTokenService } from '../../broker/src/api/access-tokens.js';
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

test.run();
