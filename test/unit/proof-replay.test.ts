// A proof of possession is spent once: its jti is kept as long as the proof is accepted, which is the clock skew
// past its `exp`. A verifier on a real fleet database, its clock moved by hand; and a claim that says "spent".
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createProof, createProofVerifier } from '../../broker/src/api/proof.js';
import { openDb } from '../../broker/src/db/open.js';
import { createSqliteStore } from '../../broker/src/store/index.js';
import { addOperator } from '../helpers/operators.js';
import { tmpDir } from '../helpers/tmp.js';

const AUDIENCE = 'urn:edgeward:fleet:0123456789abcdef0123456789abcdef';
const T0 = Date.UTC(2026, 0, 1);

test('a replay within the clock skew after exp is refused (the spent jti is kept that long)', async () => {
  const db = openDb(join(tmpDir('edgeward-proof-'), 'fleet.db'));
  try {
    const op = await addOperator(db, 'alice', 'admin');
    let clock = T0;
    const verify = createProofVerifier({
      db,
      operators: createSqliteStore(db).operators,
      audience: AUDIENCE,
      now: () => clock,
    });
    const proof = await createProof({ privateKeyPem: op.credential, kid: op.kid, audience: AUDIENCE, now: T0 });
    assert.is((await verify(proof)).ok, true);
    // exp is iat + 30 s; 40 s on, the proof is still within the 30 s skew: the same one again is a replay.
    clock = T0 + 40_000;
    assert.equal(await verify(proof).then((r) => (r.ok ? 'ok' : r.reason)), 'replayed');
    // Another proof at that time prunes nothing it should not, and is taken.
    const other = await createProof({ privateKeyPem: op.credential, kid: op.kid, audience: AUDIENCE, now: clock });
    assert.is((await verify(other)).ok, true);
    assert.equal(await verify(proof).then((r) => (r.ok ? 'ok' : r.reason)), 'replayed');
    // Past the skew it is refused as expired, not taken.
    clock = T0 + 61_000;
    assert.equal(await verify(proof).then((r) => (r.ok ? 'ok' : r.reason)), 'expired');
  } finally {
    db.close();
  }
});

test('a given claim decides: a proof spent elsewhere (another node) is refused as replayed', async () => {
  const db = openDb(join(tmpDir('edgeward-proof-'), 'fleet.db'));
  try {
    const op = await addOperator(db, 'bob', 'viewer');
    const spent = new Map<string, number>();
    const claim = async (jti: string, _id: number, exp: number) => !spent.has(jti) && !!spent.set(jti, exp);
    const one = createProofVerifier({ db, operators: createSqliteStore(db).operators, audience: AUDIENCE, claim });
    const two = createProofVerifier({ db, operators: createSqliteStore(db).operators, audience: AUDIENCE, claim });
    const proof = await createProof({ privateKeyPem: op.credential, kid: op.kid, audience: AUDIENCE });
    assert.is((await one(proof)).ok, true);
    assert.equal(await two(proof).then((r) => (r.ok ? 'ok' : r.reason)), 'replayed');
    assert.is(spent.size, 1);
  } finally {
    db.close();
  }
});

test.run();
