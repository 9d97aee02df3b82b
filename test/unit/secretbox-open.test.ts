// The one-pass XSalsa20-Poly1305 opener the server opens sealed messages with, against tweetnacl's own
// nacl.secretbox.open (the documented API): the same plaintext for every length around Salsa20's 64-byte blocks,
// and null, as there, for any flipped bit of tag, ciphertext or nonce, another key, or a box shorter than a tag.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import nacl from 'tweetnacl';
import { secretboxOpen } from '../../shared/src/index.js';

const key = nacl.randomBytes(32);
const nonce = nacl.randomBytes(24);
const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('hex') : 'null');

test('the same plaintext as nacl.secretbox.open, for lengths 0 to 300 and a few larger', () => {
  const lengths = [...Array.from({ length: 301 }, (_, i) => i), 1023, 1024, 1025, 4096, 65_537];
  for (const n of lengths) {
    const message = nacl.randomBytes(n);
    const k = nacl.randomBytes(32);
    const iv = nacl.randomBytes(24);
    const box = nacl.secretbox(message, iv, k);
    const opened = secretboxOpen(box, iv, k);
    assert.is(hex(opened), hex(message), `length ${n}`);
    assert.is(hex(opened), hex(nacl.secretbox.open(box, iv, k)), `length ${n}`);
  }
});

test('a box made with a shared key (nacl.box.before) opens as nacl.box.open.after does', () => {
  const a = nacl.box.keyPair();
  const b = nacl.box.keyPair();
  const message = nacl.randomBytes(200);
  const box = nacl.box(message, nonce, b.publicKey, a.secretKey);
  const shared = nacl.box.before(a.publicKey, b.secretKey);
  assert.is(hex(secretboxOpen(box, nonce, shared)), hex(message));
  assert.is(hex(secretboxOpen(box, nonce, shared)), hex(nacl.box.open.after(box, nonce, shared)));
});

test('null for every flipped bit of the box and of the nonce, another key, a short box', () => {
  const message = nacl.randomBytes(70);
  const box = nacl.secretbox(message, nonce, key);
  for (let i = 0; i < box.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = Uint8Array.from(box);
      bad[i]! ^= bit;
      assert.is(secretboxOpen(bad, nonce, key), null, `box byte ${i} bit ${bit}`);
      assert.is(nacl.secretbox.open(bad, nonce, key), null);
    }
  }
  for (let i = 0; i < nonce.length; i++) {
    const bad = Uint8Array.from(nonce);
    bad[i]! ^= 0x01;
    assert.is(secretboxOpen(box, bad, key), null, `nonce byte ${i}`);
  }
  assert.is(secretboxOpen(box, nonce, nacl.randomBytes(32)), null);
  for (const n of [0, 1, 15]) assert.is(secretboxOpen(box.subarray(0, n), nonce, key), null, `${n} bytes`);
  // The tag of an empty message: 16 bytes open to nothing.
  assert.is(secretboxOpen(nacl.secretbox(new Uint8Array(0), nonce, key), nonce, key)?.length, 0);
});

test('the box, nonce and key are left as they were; a box inside a larger buffer opens in place', () => {
  const message = nacl.randomBytes(150);
  const box = nacl.secretbox(message, nonce, key);
  const frame = new Uint8Array(box.length + 40);
  frame.set(box, 20);
  const view = frame.subarray(20, 20 + box.length);
  const before = hex(frame);
  assert.is(hex(secretboxOpen(view, nonce.subarray(0), key)), hex(message));
  assert.is(hex(frame), before);
});

test('a nonce or key of the wrong size is a programming error, as in tweetnacl', () => {
  const box = nacl.secretbox(new Uint8Array(10), nonce, key);
  assert.throws(() => secretboxOpen(box, nonce.subarray(0, 23), key), /nonce size/);
  assert.throws(() => secretboxOpen(box, nonce, key.subarray(0, 31)), /key size/);
});

test.run();
