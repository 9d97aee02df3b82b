// Keys inside a real SoftHSM2 token: generated non-extractable, found again by URI, signing Ed25519 and P-256
// signatures that node:crypto verifies; wrong PINs, loose PIN files and missing keys are typed refusals.
import { chmodSync } from 'node:fs';
import { verify } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generatePkcs11Key, openPkcs11Key, Pkcs11Error } from '../../shared/src/pkcs11/index.js';
import { pkcs11Lib, openSession } from '../../shared/src/pkcs11/token.js';
import { parsePkcs11Uri } from '../../shared/src/pkcs11/uri.js';
import { softHsmToken, haveSoftHsm } from '../helpers/softhsm.js';

const it = haveSoftHsm() ? test : (test.skip as unknown as typeof test);

function refusal(run: () => unknown, code: string, why: RegExp): void {
  try {
    run();
    assert.unreachable('accepted');
  } catch (err) {
    assert.instance(err, Pkcs11Error, String(err));
    assert.is((err as Pkcs11Error).code, code, (err as Error).message);
    assert.match((err as Error).message, why);
  }
}

it('an Ed25519 key made in the token signs, and is found again by its URI', () => {
  const token = softHsmToken();
  const made = generatePkcs11Key(token.uri('release-1'), 'ed25519');
  assert.is(made.algorithm, 'ed25519');
  assert.is(made.publicKey.length, 32);
  const message = Buffer.from('manifest bytes');
  const sig = made.sign(message);
  assert.ok(verify(null, message, made.publicKeyObject, sig));
  made.close();
  const again = openPkcs11Key(token.uri('release-1'));
  assert.equal(again.publicKey, made.publicKey);
  assert.ok(verify(null, message, again.publicKeyObject, again.sign(message)));
  again.close();
});

it('a P-256 key signs ECDSA over SHA-256 as r‖s', () => {
  const token = softHsmToken();
  const key = generatePkcs11Key(token.uri('fleet-ca'), 'p256');
  assert.is(key.publicKey.length, 65);
  const sig = key.sign(Buffer.from('tbs'));
  assert.is(sig.length, 64);
  assert.ok(verify('sha256', Buffer.from('tbs'), { key: key.publicKeyObject, dsaEncoding: 'ieee-p1363' }, sig));
  key.close();
});

it('the private key never leaves the token: CKA_VALUE is refused, and the flags say so', () => {
  const token = softHsmToken();
  generatePkcs11Key(token.uri('no-export'), 'ed25519').close();
  const p = pkcs11Lib();
  const { mod, session } = openSession(parsePkcs11Uri(token.uri('no-export')));
  mod.C_FindObjectsInit(session, [
    { type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY },
    { type: p.CKA_LABEL, value: 'no-export' },
  ]);
  const [handle] = mod.C_FindObjects(session, 1);
  mod.C_FindObjectsFinal(session);
  assert.ok(handle);
  try {
    mod.C_GetAttributeValue(session, handle as Buffer, [{ type: p.CKA_VALUE }]);
    assert.unreachable('CKA_VALUE was readable');
  } catch (err) {
    assert.match((err as Error).message, /CKR_ATTRIBUTE_SENSITIVE/);
  }
  const flags = mod.C_GetAttributeValue(session, handle as Buffer, [
    { type: p.CKA_EXTRACTABLE },
    { type: p.CKA_SENSITIVE },
    { type: p.CKA_TOKEN },
  ]);
  assert.equal(
    flags.map((a) => (a.value as Buffer)[0]),
    [0, 1, 1],
  );
  mod.C_CloseSession(session);
});

it('refusals: wrong PIN, loose PIN file, no such key, a label already taken, no module', () => {
  const token = softHsmToken();
  generatePkcs11Key(token.uri('taken'), 'ed25519').close();
  const base = token.uri('taken').replace(/\?.*$/, '');
  refusal(
    () => openPkcs11Key(`${base}?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=wrong`),
    'PKCS11_PIN',
    /refused the PIN/,
  );
  chmodSync(token.pinFile, 0o644);
  refusal(() => openPkcs11Key(token.uri('taken')), 'PKCS11_PIN', /chmod 600/);
  chmodSync(token.pinFile, 0o600);
  refusal(() => openPkcs11Key(token.uri('missing')), 'PKCS11_KEY_NOT_FOUND', /no private key with object=missing/);
  refusal(() => generatePkcs11Key(token.uri('taken'), 'p256'), 'PKCS11_KEY_EXISTS', /already holds/);
  refusal(
    () => openPkcs11Key(token.uri('taken').replace(`token=${token.label}`, 'token=nope')),
    'PKCS11_TOKEN_NOT_FOUND',
    /no initialised token/,
  );
  refusal(() => openPkcs11Key(base, {}), 'PKCS11_MODULE', /module-path/);
  refusal(
    () => openPkcs11Key(`${base}?module-path=/nonexistent/libp11.so&pin-value=x`),
    'PKCS11_MODULE',
    /cannot load/,
  );
});

test.run();
