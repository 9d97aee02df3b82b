// Installers: the A/B slots in the state folder (atomic boot.json, trial, commit, rollback, restart-safe) and the
// simulator's in-memory slots behave the same.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAbInstaller, readBootFile, slotPath } from '../../agent/src/update/ab-installer.js';
import type { Installer } from '../../agent/src/update/installer.js';
import { createMemoryInstaller } from '../../agent/src/update/memory-installer.js';
import { tmpDir } from '../helpers/tmp.js';

const image = (n = 100_000) => {
  const bytes = randomBytes(n);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
};

async function install(inst: Installer, bytes: Uint8Array, version: string, sequence: number, sha256: string) {
  const w = await inst.openInactive();
  for (let i = 0; i < bytes.length; i += 7000) await w.write(bytes.subarray(i, i + 7000));
  await w.close();
  await inst.finish({ version, sequence, sha256 });
}

test('a fresh folder runs slot a with the initial version; no boot.json until something is installed', async () => {
  const dir = tmpDir();
  const inst = createAbInstaller({ stateDir: dir, initialVersion: '1.0.0', initialSequence: 5 });
  assert.equal(await inst.current(), { slot: 'a', version: '1.0.0', sequence: 5, trial: false });
  assert.is(readBootFile(dir), undefined);
});

test('install → activate (trial) → commit, and it survives a restart', async () => {
  const dir = tmpDir();
  const inst = createAbInstaller({ stateDir: dir, initialVersion: '1.0.0', initialSequence: 1 });
  const img = image();
  await install(inst, img.bytes, '2.0.0', 2, img.sha256);
  assert.equal(readBootFile(dir)?.active, 'a', 'finishing does not switch');
  assert.is(
    createHash('sha256')
      .update(readFileSync(slotPath(dir, 'b')))
      .digest('hex'),
    img.sha256,
  );
  await inst.activate({ version: '2.0.0', sequence: 2, sha256: img.sha256 });
  await inst.activate({ version: '2.0.0', sequence: 2, sha256: img.sha256 }); // idempotent
  assert.equal(await inst.current(), { slot: 'b', version: '2.0.0', sequence: 2, trial: true });
  const again = createAbInstaller({ stateDir: dir, initialVersion: '9', initialSequence: 9 });
  assert.equal(await again.current(), { slot: 'b', version: '2.0.0', sequence: 2, trial: true });
  await again.commit();
  assert.equal(readBootFile(dir), {
    active: 'b',
    trial: false,
    slots: {
      a: { version: '1.0.0', sequence: 1, sha256: '' },
      b: { version: '2.0.0', sequence: 2, sha256: img.sha256 },
    },
  });
  assert.equal(
    readdirSync(join(dir, 'firmware')).filter((f) => f.endsWith('.tmp')),
    [],
    'no temp file is left behind',
  );
});

test('rollback switches back to the old slot and ends the trial', async () => {
  const dir = tmpDir();
  const inst = createAbInstaller({ stateDir: dir, initialVersion: '1.0.0', initialSequence: 1 });
  const img = image();
  await install(inst, img.bytes, '2.0.0', 2, img.sha256);
  await inst.activate({ version: '2.0.0', sequence: 2, sha256: img.sha256 });
  await inst.rollback();
  await inst.rollback(); // idempotent
  assert.equal(await inst.current(), { slot: 'a', version: '1.0.0', sequence: 1, trial: false });
});

test('an empty slot is not finished, and a slot not finished cannot be activated', async () => {
  // The slot holds what the verifier hashed as it wrote it; finish() does not read it back (that would read the
  // page cache, not the medium), but a slot with nothing in it is never described as an image.
  const dir = tmpDir();
  const inst = createAbInstaller({ stateDir: dir, initialVersion: '1.0.0', initialSequence: 1 });
  const img = image();
  const err = await install(inst, new Uint8Array(0), '2.0.0', 2, img.sha256).catch((e) => e);
  assert.is(err.code, 'UPDATE_INSTALL');
  const act = await inst.activate({ version: '2.0.0', sequence: 2, sha256: img.sha256 }).catch((e) => e);
  assert.is(act.code, 'UPDATE_INSTALL');
  assert.equal((await inst.current()).slot, 'a');
  assert.ok(existsSync(slotPath(dir, 'b')));
});

test('the in-memory installer keeps only hashes and goes through the same steps', async () => {
  const inst = createMemoryInstaller({ version: '1.0.0', sequence: 1 });
  const img = image();
  await install(inst, img.bytes, '2.0.0', 2, img.sha256);
  await inst.activate({ version: '2.0.0', sequence: 2, sha256: img.sha256 });
  assert.equal(await inst.current(), { slot: 'b', version: '2.0.0', sequence: 2, trial: true });
  await inst.rollback();
  assert.equal((await inst.current()).version, '1.0.0');
  const bad = await install(inst, img.bytes, '3.0.0', 3, 'f'.repeat(64)).catch((e) => e);
  assert.is(bad.code, 'UPDATE_INSTALL');
  await install(inst, img.bytes, '3.0.0', 3, img.sha256);
  await inst.activate({ version: '3.0.0', sequence: 3, sha256: img.sha256 });
  await inst.commit();
  assert.equal(await inst.current(), { slot: 'b', version: '3.0.0', sequence: 3, trial: false });
  assert.is(inst.state().slots.b?.size, img.bytes.length);
});

test.run();
