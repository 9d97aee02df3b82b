// A bundle written into a node's folder from the store (fleet/releases.ts materialiseBundle): only bytes that hash
// to the release id become releases/{id}.ewfw (private, whole); anything else leaves the folder as it was.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { materialiseBundle } from '../../broker/src/fleet/releases.js';
import { tmpDir } from '../helpers/tmp.js';

const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
const id = createHash('sha256').update(bytes).digest('hex');

async function* chunks(b: Buffer, size = 1 << 20): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < b.length; at += size) yield b.subarray(at, at + size);
}

const code = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (err: { code?: string }) => err.code ?? 'no code',
  );

test('the bytes of the release: written whole, private, as releases/{id}.ewfw', async () => {
  const dir = tmpDir();
  const file = await materialiseBundle(chunks(bytes), dir, id);
  assert.is(file, `${dir}/${id}.ewfw`);
  assert.ok(readFileSync(file).equals(bytes));
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.equal(readdirSync(dir), [`${id}.ewfw`]);
});

test('bytes that do not hash to the id: FLEET_STORE_CONSTRAINT, nothing left behind', async () => {
  const dir = tmpDir();
  const other = Buffer.from(bytes);
  other[other.length - 1] = 8;
  assert.is(await code(materialiseBundle(chunks(other), dir, id)), 'FLEET_STORE_CONSTRAINT');
  assert.is(await code(materialiseBundle(chunks(Buffer.alloc(0)), dir, id)), 'FLEET_STORE_CONSTRAINT');
  assert.equal(readdirSync(dir), []);
});

test('a store failing halfway: its error, nothing left behind', async () => {
  const dir = tmpDir();
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield bytes.subarray(0, 1 << 20);
    throw Object.assign(new Error('connection lost'), { code: 'FLEET_STORE_UNAVAILABLE' });
  }
  assert.is(await code(materialiseBundle(failing(), dir, id)), 'FLEET_STORE_UNAVAILABLE');
  assert.equal(readdirSync(dir), []);
});

test('an id that is not 64 hex characters names no file: FLEET_RELEASE_UNKNOWN', async () => {
  const dir = tmpDir();
  for (const bad of ['../../etc/passwd', id.slice(0, 63), `${id}0`, id.toUpperCase(), ''])
    assert.is(await code(materialiseBundle(chunks(bytes), dir, bad)), 'FLEET_RELEASE_UNKNOWN', bad);
  assert.equal(readdirSync(dir), []);
});

test.run();
