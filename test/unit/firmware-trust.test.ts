// Trust-document chains: each version needs a threshold of the previous root keys and of its own, versions go
// up by exactly one, rollbacks and skips are refused, only the newest link must be unexpired.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPair, keyIdBytes, sign, type Ed25519KeyPair } from '../../shared/src/crypto/index.js';
import { encodeCbor, TaggedValue, type CborValue } from '../../firmware-tools/src/bundle/cbor-deterministic.js';
import { signTrustBody, type TrustBody } from '../../firmware-tools/src/bundle/trust-document.js';
import {
  BundleError,
  createBundle,
  createTrust,
  nextTrust,
  resolveTrustChain,
  sigStructure1,
  TRUST_CONTENT_TYPE,
  updateTrust,
  verifyBundle,
  verifyTrustDocument,
  withoutReleaseKeys,
  withReleaseKeys,
  type TrustState,
} from '../../firmware-tools/src/index.js';

const NOW = Date.UTC(2030, 0, 1);
const T = NOW / 1000;
const DAY = 86_400_000;
const [rootA, rootB, rootC, newRoot1, newRoot2] = Array.from({ length: 5 }, generateKeyPair) as [
  Ed25519KeyPair,
  Ed25519KeyPair,
  Ed25519KeyPair,
  Ed25519KeyPair,
  Ed25519KeyPair,
];
const [rel1, rel2] = [generateKeyPair(), generateKeyPair()];

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (!(err instanceof BundleError)) throw err;
    return err.code;
  }
}

// v1: roots A, B, C with threshold 2; release key rel1.
const v1 = createTrust({
  rootSigners: [rootA, rootB],
  extraRootKeys: [rootC.publicKey],
  rootThreshold: 2,
  releaseKeys: [rel1.publicKey],
  now: NOW,
});
const s1 = verifyTrustDocument(v1, { now: NOW });
// v2: + rel2, signed by A and C.
const v2 = nextTrust(
  s1,
  { releaseKeys: withReleaseKeys(s1, [rel2.publicKey]) },
  { signers: [rootA, rootC], now: NOW + DAY },
);
const s2 = updateTrust(s1, v2, { now: NOW + DAY });
// v3: - rel1.
const v3 = nextTrust(
  s2,
  { releaseKeys: withoutReleaseKeys(s2, [rel1.publicKey]) },
  { signers: [rootB, rootC], now: NOW + 2 * DAY },
);
const s3 = updateTrust(s2, v3, { now: NOW + 2 * DAY });
// v4: root rotation to newRoot1 + newRoot2 (threshold 1), signed by two old roots and one new root.
const v4 = nextTrust(
  s3,
  { rootKeys: [newRoot1.publicKey, newRoot2.publicKey], rootThreshold: 1 },
  { signers: [rootA, rootB, newRoot1], now: NOW + 3 * DAY },
);

test('a chain of add, remove and rotate verifies step by step and as a whole', () => {
  assert.is(s1.version, 1);
  assert.is(s2.releaseKeys.size, 2);
  assert.is(s3.releaseKeys.size, 1);
  const s4 = updateTrust(s3, v4, { now: NOW + 3 * DAY });
  assert.is(s4.version, 4);
  assert.is(s4.rootThreshold, 1);
  const whole = resolveTrustChain([v1, v2, v3, v4], { now: NOW + 3 * DAY });
  assert.is(whole.version, 4);
  assert.equal([...whole.releaseKeys.keys()], [...s3.releaseKeys.keys()]);
});

test('the chain starts at the root keys a device ships with', () => {
  const anchor = { rootKeys: [rootA.publicKey, rootB.publicKey], threshold: 2 };
  assert.is(resolveTrustChain([v1, v2, v3, v4], { anchor, now: NOW + 3 * DAY }).version, 4);
  assert.is(
    codeOf(() => resolveTrustChain([v1], { anchor: { rootKeys: [newRoot1.publicKey] }, now: NOW })),
    'FW_TRUST_CHAIN',
  );
  assert.is(
    codeOf(() => resolveTrustChain([v1], { anchor: { rootKeys: [rootA.publicKey, rootC.publicKey] }, now: NOW })),
    'FW_TRUST_CHAIN',
    'C did not sign v1',
  );
});

test('a version that skips ahead is refused (FW_TRUST_CHAIN), even when well signed', () => {
  assert.is(
    codeOf(() => updateTrust(s1, v3, { now: NOW + 2 * DAY })),
    'FW_TRUST_CHAIN',
  );
  assert.is(
    codeOf(() => resolveTrustChain([v1, v2, v4], { now: NOW + 3 * DAY })),
    'FW_TRUST_CHAIN',
    'rotation that skips v3',
  );
});

test('a rollback of the trust document is refused (FW_TRUST_ROLLBACK)', () => {
  assert.is(
    codeOf(() => updateTrust(s3, v2, { now: NOW + 3 * DAY })),
    'FW_TRUST_ROLLBACK',
  );
  assert.is(
    codeOf(() => updateTrust(s3, v3, { now: NOW + 3 * DAY })),
    'FW_TRUST_ROLLBACK',
    'the same version again',
  );
  assert.is(
    codeOf(() => resolveTrustChain([v1, v2, v3, v2], { now: NOW + 3 * DAY })),
    'FW_TRUST_ROLLBACK',
  );
});

function body(state: TrustState, change: Partial<TrustBody>): TrustBody {
  return {
    format: 1,
    version: state.version + 1,
    created: T,
    expires: T + 365 * 86_400,
    rootKeys: state.rootKeys,
    rootThreshold: state.rootThreshold,
    releaseKeys: [...state.releaseKeys.values()],
    releaseThreshold: state.releaseThreshold,
    ...change,
  };
}

test(
  'a rotation signed only by the new roots does not chain; one signed only by the old roots is ' + 'not self-signed',
  () => {
    const rotation = body(s3, { rootKeys: [newRoot1.publicKey], rootThreshold: 1 });
    assert.is(
      codeOf(() => updateTrust(s3, signTrustBody(rotation, [newRoot1]), { now: NOW })),
      'FW_TRUST_CHAIN',
    );
    assert.is(
      codeOf(() => updateTrust(s3, signTrustBody(rotation, [rootA, rootB]), { now: NOW })),
      'FW_TRUST_SIGNATURE',
    );
    assert.is(
      codeOf(() => updateTrust(s3, signTrustBody(rotation, [rootA, rootB, newRoot1]), { now: NOW })),
      undefined,
    );
  },
);

test('a root key that signed twice counts once toward the root threshold', () => {
  const next = body(s1, { releaseThreshold: 1 });
  assert.is(
    codeOf(() => updateTrust(s1, signTrustBody(next, [rootA, rootA]), { now: NOW })),
    'FW_TRUST_CHAIN',
  );
  assert.is(
    codeOf(() => updateTrust(s1, signTrustBody(next, [rootA, rootC]), { now: NOW })),
    undefined,
  );
});

test('nextTrust refuses to write a version that would not chain', () => {
  assert.is(
    codeOf(() => nextTrust(s1, {}, { signers: [rootA], now: NOW })),
    'FW_TRUST_CHAIN',
  );
  assert.is(
    codeOf(() => nextTrust(s3, { rootKeys: [newRoot2.publicKey] }, { signers: [rootA, rootB], now: NOW })),
    'FW_TRUST_INVALID',
    'threshold 2 > 1 key',
  );
});

test('a tampered trust document is refused', () => {
  // An attacker swaps a release key for its negation (still a valid point) in every copy of the body.
  const bad = Buffer.from(v1);
  const key = Buffer.from(rel1.publicKey);
  let copies = 0;
  for (let at = bad.indexOf(key); at >= 0; at = bad.indexOf(key, at + 1), copies++) bad[at + 31]! ^= 0x80;
  assert.is(copies, 2, 'one copy per root signature');
  assert.is(
    codeOf(() => verifyTrustDocument(bad, { now: NOW })),
    'FW_TRUST_SIGNATURE',
  );
  // A corrupted signature by root B: self-signed no more (threshold 2) and not by the anchor B.
  const badSig = Buffer.from(v1);
  badSig[badSig.length - 40]! ^= 1;
  assert.is(
    codeOf(() => verifyTrustDocument(badSig, { now: NOW })),
    'FW_TRUST_SIGNATURE',
  );
  assert.is(
    codeOf(() => verifyTrustDocument(badSig, { now: NOW, anchor: { rootKeys: [rootB.publicKey] } })),
    'FW_TRUST_CHAIN',
  );
});

test('expiry: only the newest document must be current', () => {
  const later = NOW + 367.5 * DAY; // v1..v3 (365 days from day 0..2) have expired, v4 (from day 3) has not
  assert.is(resolveTrustChain([v1, v2, v3, v4], { now: later }).version, 4);
  assert.is(
    codeOf(() => resolveTrustChain([v1, v2, v3], { now: later })),
    'FW_TRUST_EXPIRED',
  );
  assert.is(
    codeOf(() => verifyTrustDocument(v1, { now: later })),
    'FW_TRUST_EXPIRED',
  );
  assert.is(verifyTrustDocument(v1, { now: later, allowExpired: true }).version, 1);
});

test('malformed trust documents are FW_TRUST_INVALID', () => {
  assert.is(
    codeOf(() => verifyTrustDocument(new Uint8Array([1, 2, 3]))),
    'FW_TRUST_INVALID',
  );
  const p = encodeCbor(
    new Map<number, CborValue>([
      [1, -8],
      [3, TRUST_CONTENT_TYPE],
      [4, keyIdBytes(rootA.publicKey)],
    ]),
  );
  const signed = (b: Uint8Array) =>
    encodeCbor([new TaggedValue(18, [p, new Map(), b, sign(sigStructure1(p, b), rootA.secretKey)])]);
  assert.is(
    codeOf(() => verifyTrustDocument(signed(encodeCbor({ format: 1 })))),
    'FW_TRUST_INVALID',
  );
  const dupKeys = encodeCbor({
    format: 1,
    version: 1,
    created: T,
    expires: T + 10,
    rootKeys: [rootA.publicKey, rootA.publicKey],
    rootThreshold: 1,
    releaseKeys: [rel1.publicKey],
    releaseThreshold: 1,
  });
  assert.is(
    codeOf(() => verifyTrustDocument(signed(dupKeys), { now: NOW })),
    'FW_TRUST_INVALID',
  );
  const highThreshold = encodeCbor({
    format: 1,
    version: 1,
    created: T,
    expires: T + 10,
    rootKeys: [rootA.publicKey],
    rootThreshold: 1,
    releaseKeys: [rel1.publicKey],
    releaseThreshold: 2,
  });
  assert.is(
    codeOf(() => verifyTrustDocument(signed(highThreshold), { now: NOW })),
    'FW_TRUST_INVALID',
  );
});

test('bundles follow the trust chain: a removed release key no longer verifies, a new one does', async () => {
  const spec = { hardware: 'hw-1', version: '1.0.0', sequence: 1, now: NOW + 3 * DAY };
  const payload = new Uint8Array(1000).fill(7);
  const byRel1 = createBundle(spec, payload, [rel1]);
  const byRel2 = createBundle(spec, payload, [rel2]);
  const opts = { now: NOW + 3 * DAY };
  assert.is((await verifyBundle([byRel1], { trust: s2, ...opts })).signers.length, 1);
  try {
    await verifyBundle(toStream(byRel1), { trust: s3, ...opts });
    assert.unreachable('removed key accepted');
  } catch (err) {
    assert.is((err as BundleError).code, 'FW_UNKNOWN_KEY');
  }
  assert.is((await verifyBundle(toStream(byRel2), { trust: s3, ...opts })).signers.length, 1);
});

async function* toStream(b: Uint8Array): AsyncIterable<Uint8Array> {
  yield b;
}

test.run();
