// shared/src/files.ts on disks that refuse: a read-only file system is named as such (Node's recursive mkdir says
// ENOENT there), and a disk that fills up during a write gives ENOSPC and leaves nothing (write() stops short
// without an error first). Runs on small tmpfs mounts; prints SKIP where mounting is not permitted.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type EdgewardError, ensurePrivateDir, writeFileSafe } from '../../shared/src/index.js';
import { mountTmpfs, unmountAll } from '../helpers/mounts.js';

function failure(fn: () => unknown): EdgewardError {
  try {
    fn();
  } catch (err) {
    return err as EdgewardError;
  }
  throw new Error('expected an error');
}

test.after(() => unmountAll());

test('a folder on a read-only file system: FILE_IO naming EROFS, not ENOENT', () => {
  const m = mountTmpfs('ro,size=1m');
  if ('skip' in m) return void console.log(`SKIP ${m.skip}`);
  for (const dir of [join(m.dir, 'data'), join(m.dir, 'a', 'b')]) {
    const e = failure(() => ensurePrivateDir(dir));
    assert.is(e.code, 'FILE_IO');
    assert.is(e.details?.reason, 'EROFS', e.message);
    assert.match(e.message, /read-only file system/);
  }
  const e = failure(() => writeFileSafe(join(m.dir, 'sub', 'x.txt'), 'x'));
  assert.is(e.details?.reason, 'EROFS', e.message);
});

test('a disk that fills up during a write: ENOSPC, and neither the file nor its temporary file is left', () => {
  const m = mountTmpfs('size=4k');
  if ('skip' in m) return void console.log(`SKIP ${m.skip}`);
  // One page fits; write() returns after it, short, and only the next call says ENOSPC.
  const e = failure(() => writeFileSafe(join(m.dir, 'big.pem'), 'x'.repeat(16 * 1024)));
  assert.is(e.code, 'FILE_IO');
  assert.is(e.details?.reason, 'ENOSPC', e.message);
  assert.equal(readdirSync(m.dir), []);
});

test.run();
