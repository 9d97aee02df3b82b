// The 12 ed25519-speccheck edge cases, with the outcome docs/firmware-bundle.md documents for each:
// only case 3 is accepted (cofactorless equation, canonical S/R/A, no small-order A or R).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadVectors } from '../helpers/vectors.js';
import { checkSignature, isCanonicalPoint, isSmallOrder, type SignatureCheck } from '../../shared/src/crypto/index.js';

const cases = loadVectors<{ message: string; pub_key: string; signature: string }[]>('speccheck-ed25519-cases.json');

// Case number → outcome, as documented in docs/firmware-bundle.md ("Strict Ed25519").
const EXPECTED: SignatureCheck[] = [
  'key-small-order', // 0: small-order A, small-order R, S = 0
  'key-small-order', // 1: small-order A, mixed-order R
  'r-small-order', // 2: mixed-order A, small-order R
  'valid', // 3: mixed-order A and R, passes the cofactorless equation
  'mismatch', // 4: passes only the cofactored equation
  'mismatch', // 5: passes only the cofactored equation (pre-reduced k)
  's-not-canonical', // 6: S > L
  's-not-canonical', // 7: S >> L
  'r-not-canonical', // 8: non-canonical R
  'r-not-canonical', // 9: non-canonical R
  'key-not-canonical', // 10: non-canonical A
  'key-not-canonical', // 11: non-canonical A (tweetnacl and OpenSSL accept it)
];

test('every case gets its documented outcome', () => {
  assert.is(cases.length, 12);
  const got = cases.map((c) =>
    checkSignature(Buffer.from(c.signature, 'hex'), Buffer.from(c.message, 'hex'), Buffer.from(c.pub_key, 'hex')),
  );
  assert.equal(got, EXPECTED);
});

test('small-order and non-canonical keys are recognised', () => {
  const pk = (i: number) => Buffer.from(cases[i]!.pub_key, 'hex');
  assert.ok(isSmallOrder(pk(0)));
  assert.ok(isSmallOrder(pk(1)));
  assert.not.ok(isSmallOrder(pk(2)), 'mixed order is not small order');
  assert.not.ok(isCanonicalPoint(pk(10)));
  assert.not.ok(isCanonicalPoint(pk(11)));
});

test.run();
