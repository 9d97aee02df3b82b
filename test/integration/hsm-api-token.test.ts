// API tokens signed by an Ed25519 key inside a real SoftHSM2 token: the server's own verification path (jose's
// jwtVerify in access-tokens.ts) accepts them, refuses a changed one, and a server without that key refuses them.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTokenService } from '../../broker/src/api/access-tokens.js';
import { tokenSignerFromUri } from '../../broker/src/api/token-signer.js';
import { openDb } from '../../broker/src/db/open.js';
import { generatePkcs11Key, Pkcs11Error } from '../../shared/src/pkcs11/index.js';
import { haveSoftHsm, softHsmToken } from '../helpers/softhsm.js';
import { tmpDir } from '../helpers/tmp.js';

const it = haveSoftHsm() ? test : (test.skip as unknown as typeof test);
const request = {
  operatorId: 7,
  operator: 'alice',
  role: 'operator' as const,
  scopes: ['devices:read' as const],
  devices: ['gw-001'],
  ttlMs: 60_000,
};

it('a token signed in the HSM verifies through the server path; tampering and other fleets are refused', async () => {
  const token = softHsmToken();
  generatePkcs11Key(token.uri('api-tokens'), 'ed25519').close();
  const signer = tokenSignerFromUri(token.uri('api-tokens'));
  const db = openDb(join(tmpDir('edgeward-hsm-api-'), 'fleet.db'));
  const tokens = createTokenService({ db, issuer: 'fleet-hsm', signer });
  const issued = await tokens.issue(request);
  const header = JSON.parse(Buffer.from(issued.token.split('.')[0] as string, 'base64url').toString());
  assert.equal(header, { alg: 'EdDSA', kid: signer.kid, typ: 'at+jwt' });
  const ok = await tokens.verify(issued.token);
  assert.ok(ok.ok);
  if (ok.ok) {
    assert.is(ok.claims.operator, 'alice');
    assert.equal(ok.claims.devices, ['gw-001']);
    assert.equal(ok.claims.scopes, ['devices:read']);
  }
  const at = issued.token.length - 10;
  const tampered = issued.token.slice(0, at) + (issued.token[at] === 'A' ? 'B' : 'A') + issued.token.slice(at + 1);
  assert.equal(await tokens.verify(tampered), { ok: false, reason: 'bad-signature' });
  // The key id is derived from the public key: a restarted server with the same token key accepts the token.
  const restarted = createTokenService({
    db,
    issuer: 'fleet-hsm',
    signer: tokenSignerFromUri(token.uri('api-tokens')),
  });
  assert.ok((await restarted.verify(issued.token)).ok);
  const withoutKey = createTokenService({ db, issuer: 'fleet-hsm' });
  assert.equal(await withoutKey.verify(issued.token), { ok: false, reason: 'unknown-key' });
  db.close();
});

it('a P-256 key is refused as the token key', () => {
  const token = softHsmToken();
  generatePkcs11Key(token.uri('api-ec'), 'p256').close();
  try {
    tokenSignerFromUri(token.uri('api-ec'));
    assert.unreachable('accepted');
  } catch (err) {
    assert.instance(err, Pkcs11Error);
    assert.is((err as Pkcs11Error).code, 'PKCS11_UNSUPPORTED');
  }
});

test.run();
