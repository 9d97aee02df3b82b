// Ed25519 key handling: sign/verify, PEM import and export (ours and OpenSSL's layout), key ids, weak keys.
import { createHash, generateKeyPairSync } from 'node:crypto';
import nacl from 'tweetnacl';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkPublicKey,
  generateKeyPair,
  isCanonicalPoint,
  isSmallOrder,
  KeyError,
  keyId,
  keyPairFromSeed,
  parseKeyPem,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  privateKeyToPem,
  publicKeyToPem,
  sign,
  verifyStrict,
} from '../../shared/src/crypto/index.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const spkiPem = (pk: Uint8Array) =>
  `-----BEGIN PUBLIC KEY-----\n${Buffer.concat([SPKI_PREFIX, pk]).toString('base64')}\n-----END PUBLIC KEY-----\n`;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.instance(err, KeyError);
    return (err as KeyError).code;
  }
}

test('sign and verifyStrict round-trip; any change is refused', () => {
  const kp = generateKeyPair();
  assert.is(kp.publicKey.length, 32);
  assert.is(kp.secretKey.length, 64);
  const msg = new TextEncoder().encode('firmware manifest');
  const sig = sign(msg, kp.secretKey);
  assert.is(sig.length, 64);
  assert.ok(verifyStrict(sig, msg, kp.publicKey));
  const bad = Uint8Array.from(msg);
  bad[0]! ^= 1;
  assert.not.ok(verifyStrict(sig, bad, kp.publicKey));
  assert.not.ok(verifyStrict(sig.subarray(0, 63), msg, kp.publicKey), 'short signature');
  assert.not.ok(verifyStrict(sig, msg, kp.publicKey.subarray(0, 31)), 'short key');
  assert.not.ok(verifyStrict(sig, msg, generateKeyPair().publicKey), 'other key');
});

test('RFC 8032 §7.1 test 1: the seed gives the published key and signature', () => {
  const kp = keyPairFromSeed(hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
  assert.is(
    Buffer.from(kp.publicKey).toString('hex'),
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  );
  const sig = sign(new Uint8Array(0), kp.secretKey);
  assert.is(
    Buffer.from(sig).toString('hex'),
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555' +
      'fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  );
});

test('signing with a secret key whose public half belongs to another seed is refused', () => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const forged = Uint8Array.from([...a.secretKey.subarray(0, 32), ...b.publicKey]);
  assert.is(
    code(() => sign(new Uint8Array(1), forged)),
    'KEY_INVALID',
  );
});

test('PEM round-trip, and OpenSSL-layout PEM from node:crypto parses to the same key', () => {
  const kp = generateKeyPair();
  const priv = parsePrivateKeyPem(privateKeyToPem(kp.secretKey));
  assert.equal([...priv.publicKey], [...kp.publicKey]);
  assert.equal([...priv.secretKey], [...kp.secretKey]);
  assert.equal([...parsePublicKeyPem(publicKeyToPem(kp.publicKey))], [...kp.publicKey]);

  const node = generateKeyPairSync('ed25519');
  const nodePriv = node.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const nodePub = node.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const raw = Buffer.from(node.publicKey.export({ format: 'jwk' }).x!, 'base64url');
  assert.equal([...parsePrivateKeyPem(nodePriv).publicKey], [...raw]);
  assert.equal([...parsePublicKeyPem(nodePub)], [...raw]);
  assert.equal([...parsePublicKeyPem(nodePriv)], [...raw], 'a private key PEM serves where a public key is needed');
  assert.is(parseKeyPem(nodePub).secretKey, undefined);
  assert.ok(parseKeyPem(nodePriv).secretKey);
  // Our PEM is byte-identical to what OpenSSL (via node:crypto) writes for the same key.
  assert.is(privateKeyToPem(parsePrivateKeyPem(nodePriv).secretKey), nodePriv);
  assert.is(publicKeyToPem(raw), nodePub);
});

test('keys that are not Ed25519 PEM are KEY_INVALID', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    format: 'pem',
    type: 'spki',
  }) as string;
  const enc = generateKeyPairSync('ed25519').privateKey.export({
    format: 'pem',
    type: 'pkcs8',
    cipher: 'aes-256-cbc',
    passphrase: 'x',
  }) as string;
  const pub = publicKeyToPem(generateKeyPair().publicKey);
  assert.is(
    code(() => parsePrivateKeyPem(rsa)),
    'KEY_INVALID',
  );
  assert.is(
    code(() => parsePublicKeyPem(ec)),
    'KEY_INVALID',
  );
  assert.is(
    code(() => parsePrivateKeyPem(enc)),
    'KEY_INVALID',
  );
  assert.is(
    code(() => parsePrivateKeyPem(pub)),
    'KEY_INVALID',
    'a public key cannot sign',
  );
  assert.is(
    code(() => parsePublicKeyPem(pub + pub)),
    'KEY_INVALID',
    'two PEM blocks',
  );
  assert.is(
    code(() => parsePublicKeyPem('not a key')),
    'KEY_INVALID',
  );
  assert.is(
    code(() => parsePublicKeyPem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')),
    'KEY_INVALID',
  );
  assert.is(
    code(() => parsePublicKeyPem('x'.repeat(20_000))),
    'KEY_INVALID',
  );
});

test('small-order and non-canonical public keys are KEY_WEAK', () => {
  const weak = [
    '0100000000000000000000000000000000000000000000000000000000000000', // identity (order 1)
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = -1 (order 2)
    '0000000000000000000000000000000000000000000000000000000000000000', // y = 0 (order 4)
    '0000000000000000000000000000000000000000000000000000000000000080', // y = 0, other x (order 4)
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8 (speccheck case 0)
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // its negation
  ];
  for (const w of weak) {
    assert.ok(isSmallOrder(hex(w)), w);
    assert.is(checkPublicKey(hex(w)), 'key-small-order', w);
    assert.is(
      code(() => parsePublicKeyPem(spkiPem(hex(w)))),
      'KEY_WEAK',
      w,
    );
  }
  const nonCanonical = [
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1
    '0100000000000000000000000000000000000000000000000000000000000080', // x = 0 with the sign bit set
  ];
  for (const n of nonCanonical) {
    assert.not.ok(isCanonicalPoint(hex(n)), n);
    assert.is(
      code(() => parsePublicKeyPem(spkiPem(hex(n)))),
      'KEY_WEAK',
      n,
    );
  }
  for (let i = 0; i < 20; i++) assert.is(checkPublicKey(generateKeyPair().publicKey), 'valid');
});

test('a small-order key makes tweetnacl accept a universal forgery; verifyStrict refuses it', () => {
  const identity = hex('0100000000000000000000000000000000000000000000000000000000000000');
  const forged = Uint8Array.from([...identity, ...new Uint8Array(32)]); // R = identity, S = 0
  const msg = new TextEncoder().encode('any message');
  assert.ok(nacl.sign.detached.verify(msg, forged, identity), 'tweetnacl alone accepts it');
  assert.not.ok(verifyStrict(forged, msg, identity));
});

test('keyId is the first 8 bytes of SHA-256 over the raw key, in hex', () => {
  const kp = generateKeyPair();
  const id = keyId(kp.publicKey);
  assert.match(id, /^[0-9a-f]{16}$/);
  assert.is(id, createHash('sha256').update(kp.publicKey).digest('hex').slice(0, 16));
});

test.run();
