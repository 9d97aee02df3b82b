// Strict Ed25519 against all 151 Wycheproof cases: the wrapper accepts exactly the valid ones, where
// tweetnacl alone accepts 5 malleable signatures (S >= L); node:crypto is the independent cross-check.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import nacl from 'tweetnacl';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadVectors } from '../helpers/vectors.js';
import { checkSignature, verifyStrict } from '../../shared/src/crypto/index.js';

interface Case {
  tcId: number;
  comment: string;
  msg: string;
  sig: string;
  result: 'valid' | 'invalid';
  pk: Buffer;
}

const data = loadVectors<{
  numberOfTests: number;
  testGroups: { publicKey: { pk: string }; tests: Omit<Case, 'pk'>[] }[];
}>('wycheproof-ed25519.json');
const cases: Case[] = data.testGroups.flatMap((g) =>
  g.tests.map((t) => ({ ...t, pk: Buffer.from(g.publicKey.pk, 'hex') })),
);

const hex = (s: string) => Buffer.from(s, 'hex');
const spki = (pk: Uint8Array) =>
  createPublicKey({ key: Buffer.concat([hex('302a300506032b6570032100'), pk]), format: 'der', type: 'spki' });

test('the file holds 151 cases', () => {
  assert.is(data!.numberOfTests, 151);
  assert.is(cases.length, 151);
});

test('verifyStrict accepts exactly the valid cases', () => {
  const wrong = cases.filter((c) => verifyStrict(hex(c.sig), hex(c.msg), c.pk) !== (c.result === 'valid'));
  assert.equal(
    wrong.map((c) => `${c.tcId} ${checkSignature(hex(c.sig), hex(c.msg), c.pk)} (${c.comment})`),
    [],
  );
});

test('tweetnacl alone gets exactly the 5 S >= L cases wrong, which the wrapper refuses as non-canonical', () => {
  const naclWrong = cases.filter((c) => {
    const sig = hex(c.sig);
    const accepted = sig.length === 64 && nacl.sign.detached.verify(hex(c.msg), sig, c.pk);
    return accepted !== (c.result === 'valid');
  });
  assert.equal(
    naclWrong.map((c) => c.tcId),
    [63, 64, 65, 66, 85],
  );
  for (const c of naclWrong)
    assert.is(checkSignature(hex(c.sig), hex(c.msg), c.pk), 's-not-canonical', `tcId ${c.tcId}`);
});

test('node:crypto (OpenSSL) agrees with the wrapper on every case', () => {
  for (const c of cases) {
    let ok = false;
    try {
      ok = nodeVerify(null, hex(c.msg), spki(c.pk), hex(c.sig));
    } catch {
      ok = false;
    }
    assert.is(ok, verifyStrict(hex(c.sig), hex(c.msg), c.pk), `tcId ${c.tcId}`);
  }
});

test.run();
