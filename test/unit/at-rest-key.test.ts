// The storage key file and the sealed-file format (shared/src/at-rest): what is accepted, what is refused and
// with which code, and that a sealed file never opens altered or under another key.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readStorageKeyFile, seal, storageKeyFromBytes, unseal } from '../../shared/src/index.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir('edgeward-at-rest-unit-');
const HEX = 'a1'.repeat(32);
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};
function keyFile(name: string, content: string, mode = 0o600): string {
  const file = join(dir, name);
  writeFileSync(file, content, { mode });
  chmodSync(file, mode);
  return file;
}

test('a key file of 64 hex digits, mode 0600, with or without a newline, is the 32 bytes it spells', () => {
  for (const text of [HEX, `${HEX}\n`, `${HEX.toUpperCase()}\r\n`]) {
    const key = readStorageKeyFile(keyFile('ok', text));
    assert.equal(Buffer.from(key.bytes).toString('hex'), HEX);
    assert.is(key.sqlKey, `x'${HEX}'`);
  }
});

test('anything else is AT_REST_KEY_INVALID, and the message never shows the key', () => {
  const cases: [string, string, number][] = [
    ['short', 'a1'.repeat(31), 0o600],
    ['long', `${HEX}00`, 0o600],
    ['not hex', 'zz'.repeat(32), 0o600],
    ['base64', Buffer.alloc(32, 7).toString('base64'), 0o600],
    ['empty', '', 0o600],
    ['group-readable', HEX, 0o640],
    ['world-readable', HEX, 0o644],
  ];
  for (const [name, text, mode] of cases) {
    const file = keyFile(name, text, mode);
    assert.is(
      code(() => readStorageKeyFile(file)),
      'AT_REST_KEY_INVALID',
      name,
    );
    try {
      readStorageKeyFile(file);
    } catch (err) {
      assert.not.ok((err as Error).message.includes(HEX), `${name}: the message shows the key`);
    }
  }
  mkdirSync(join(dir, 'folder'), { recursive: true });
  assert.is(
    code(() => readStorageKeyFile(join(dir, 'folder'))),
    'AT_REST_KEY_INVALID',
    'a folder',
  );
  assert.is(
    code(() => readStorageKeyFile(join(dir, 'absent'))),
    'FILE_IO',
    'a missing file',
  );
  const inside = keyFile('inside', HEX);
  assert.is(
    code(() => readStorageKeyFile(inside, { notInside: [dir] })),
    'AT_REST_KEY_INVALID',
    'inside',
  );
});

test('sealed files: round trip; another key, a flipped bit, a truncation or a new version are refused', () => {
  const key = storageKeyFromBytes(Buffer.from(HEX, 'hex'), 'test');
  const other = storageKeyFromBytes(Buffer.alloc(32, 9), 'other');
  const plain = Buffer.from('-----BEGIN PRIVATE KEY-----\nsecret\n');
  const sealed = seal(key, plain);
  assert.not.ok(sealed.includes('PRIVATE'));
  assert.equal(unseal(key, sealed, 'f'), plain);
  assert.is.not(seal(key, plain).toString('hex'), sealed.toString('hex'), 'a fresh nonce each time');
  assert.is(
    code(() => unseal(other, sealed, 'f')),
    'AT_REST_KEY_WRONG',
  );
  for (let i = 4; i < sealed.length; i += 7) {
    const flipped = Buffer.from(sealed);
    flipped[i]! ^= 1;
    assert.is(
      code(() => unseal(key, flipped, 'f')),
      'AT_REST_KEY_WRONG',
      `bit flipped at ${i}`,
    );
  }
  assert.is(
    code(() => unseal(key, sealed.subarray(0, 30), 'f')),
    'AT_REST_SEALED_FILE',
  );
  assert.is(
    code(() => unseal(key, plain, 'f')),
    'AT_REST_SEALED_FILE',
    'a plain file',
  );
  const v2 = Buffer.from(sealed);
  v2[3] = 2;
  assert.is(
    code(() => unseal(key, v2, 'f')),
    'AT_REST_SEALED_FILE',
    'an unknown version',
  );
});

test.run();
