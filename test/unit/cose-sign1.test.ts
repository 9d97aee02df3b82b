// COSE_Sign1 interoperability with the cose-wg examples (RFC 9052 §4.4 ToBeSigned bytes, EdDSA signatures)
// and the strict header rules: EdDSA only, alg protected, crit understood, no label in both buckets.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadVectors } from '../helpers/vectors.js';
import { keyPairFromSeed, sign } from '../../shared/src/crypto/index.js';
import { encodeCbor, TaggedValue, type CborValue } from '../../firmware-tools/src/bundle/cbor-deterministic.js';
import { BundleError, checkCoseSign1, decodeCoseSign1, sigStructure1 } from '../../firmware-tools/src/index.js';

interface CoseExample {
  input: { plaintext: string; sign0: { key: { x_hex: string; d_hex: string; crv: string } } };
  intermediates: { ToBeSign_hex: string };
  output: { cbor: string };
}
const ex1 = loadVectors<CoseExample>('cose-eddsa-sig-01.json');
const ex2 = loadVectors<CoseExample>('cose-eddsa-sig-02.json');
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

test('cose-eddsa-sig-01 (Ed25519): exact ToBeSigned bytes, strict verification, same signature', () => {
  const msg = decodeCoseSign1(hex(ex1.output.cbor));
  assert.is(Buffer.from(msg.payload).toString(), ex1.input.plaintext);
  assert.is(Buffer.from(msg.kid!).toString(), '11', 'kid from the unprotected header');
  const tbs = sigStructure1(msg.protectedBytes, msg.payload);
  assert.is(Buffer.from(tbs).toString('hex'), ex1.intermediates.ToBeSign_hex.toLowerCase());
  assert.is(checkCoseSign1(msg, hex(ex1.input.sign0.key.x_hex)), 'valid');
  // Ed25519 is deterministic: our signer reproduces the example's signature from its private key.
  const kp = keyPairFromSeed(hex(ex1.input.sign0.key.d_hex));
  assert.equal([...sign(tbs, kp.secretKey)], [...msg.signature]);
  // A changed payload or external_aad no longer verifies.
  const changed = { ...msg, payload: Uint8Array.from([...msg.payload.subarray(0, -1), 0x21]) };
  assert.is(checkCoseSign1(changed, hex(ex1.input.sign0.key.x_hex)), 'mismatch');
  assert.is(checkCoseSign1(msg, hex(ex1.input.sign0.key.x_hex), new Uint8Array([1])), 'mismatch');
});

test('cose-eddsa-sig-02 (Ed448): same structure and ToBeSigned; verifies with Ed448, refused as Ed25519', () => {
  const msg = decodeCoseSign1(hex(ex2.output.cbor));
  const tbs = sigStructure1(msg.protectedBytes, msg.payload);
  assert.is(Buffer.from(tbs).toString('hex'), ex2.intermediates.ToBeSign_hex.toLowerCase());
  assert.is(ex2.input.sign0.key.crv, 'Ed448');
  const x = hex(ex2.input.sign0.key.x_hex);
  const ed448 = createPublicKey({
    key: Buffer.concat([Buffer.from('3043300506032b6571033a00', 'hex'), x]),
    format: 'der',
    type: 'spki',
  });
  assert.ok(nodeVerify(null, tbs, ed448, msg.signature), 'node:crypto Ed448 verifies the Sig_structure we built');
  // edgeward keys are Ed25519 only: a 57-byte key and a 114-byte signature are refused by length.
  assert.is(checkCoseSign1(msg, x), 'bad-length');
});

const EMPTY = new Uint8Array(0);
function sign1(
  protectedMap: Map<number, CborValue> | Uint8Array,
  unprotected = new Map<number, CborValue>(),
  payload: CborValue = hex('01'),
): Uint8Array {
  const p = protectedMap instanceof Uint8Array ? protectedMap : encodeCbor(protectedMap);
  return encodeCbor(new TaggedValue(18, [p, unprotected, payload, new Uint8Array(64)]));
}
function code(bytes: Uint8Array): string | undefined {
  try {
    decodeCoseSign1(bytes);
    return undefined;
  } catch (err) {
    assert.instance(err, BundleError);
    return (err as BundleError).code;
  }
}

test('header rules: only EdDSA, alg protected, crit understood, labels in one bucket, attached payload', () => {
  const kid = hex('0102');
  assert.is(
    code(
      sign1(
        new Map<number, CborValue>([
          [1, -8],
          [4, kid],
        ]),
      ),
    ),
    undefined,
  );
  assert.is(code(sign1(new Map<number, CborValue>([[1, -7]]))), 'FW_BAD_ALG', 'ES256');
  assert.is(code(sign1(new Map<number, CborValue>([[1, -35]]))), 'FW_BAD_ALG', 'ES384');
  assert.is(code(sign1(EMPTY, new Map<number, CborValue>([[1, -8]]))), 'FW_BAD_ALG', 'alg only unprotected');
  assert.is(code(sign1(EMPTY)), 'FW_BAD_ALG', 'no alg at all');
  assert.is(
    code(
      sign1(
        new Map<number, CborValue>([
          [1, -8],
          [2, [99]],
          [99, 1],
        ]),
      ),
    ),
    'FW_CRIT_UNSUPPORTED',
  );
  assert.is(
    code(
      sign1(
        new Map<number, CborValue>([
          [1, -8],
          [2, [4]],
          [4, kid],
        ]),
      ),
    ),
    undefined,
    'crit on an understood label',
  );
  assert.is(
    code(
      sign1(
        new Map<number, CborValue>([
          [1, -8],
          [2, [4]],
        ]),
      ),
    ),
    'FW_BAD_FORMAT',
    'crit names an absent label',
  );
  assert.is(
    code(
      sign1(
        new Map<number, CborValue>([
          [1, -8],
          [4, kid],
        ]),
        new Map<number, CborValue>([[4, kid]]),
      ),
    ),
    'FW_BAD_FORMAT',
    'kid twice',
  );
  assert.is(
    code(sign1(new Map<number, CborValue>([[1, -8]]), new Map<number, CborValue>([[2, [4]]]))),
    'FW_BAD_FORMAT',
    'crit unprotected',
  );
  assert.is(code(sign1(new Map<number, CborValue>([[1, -8]]), new Map(), null)), 'FW_BAD_FORMAT', 'detached payload');
  assert.is(
    code(
      sign1(
        new Map<number, CborValue>([
          [1, -8],
          [4, 'text kid'],
        ]),
      ),
    ),
    'FW_BAD_FORMAT',
    'kid must be bytes',
  );
  assert.is(code(sign1(hex('a1'))), 'FW_BAD_FORMAT', 'protected header is not CBOR');
  assert.is(code(encodeCbor(new TaggedValue(18, [EMPTY, new Map(), EMPTY]))), 'FW_BAD_FORMAT', '3 items');
  assert.is(code(encodeCbor([encodeCbor(new Map([[1, -8]])), new Map(), EMPTY, EMPTY])), 'FW_BAD_FORMAT', 'untagged');
  assert.is(code(encodeCbor(new TaggedValue(98, []))), 'FW_BAD_FORMAT', 'COSE_Sign is another tag');
});

test.run();
