// The benches run the cluster from dist/: a bundle older than any of its sources is rebuilt, so a bench never
// measures yesterday's code (bench/lib/procs.ts newerInput).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newerInput } from '../../bench/lib/procs.js';
import { tmpDir } from '../helpers/tmp.js';

function tree(): { base: string; touch(path: string, secondsAgo: number): void } {
  const base = tmpDir('edgeward-build-inputs-');
  return {
    base,
    touch(path, secondsAgo) {
      const file = join(base, path);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, 'x');
      const at = new Date(Date.now() - secondsAgo * 1000);
      utimesSync(file, at, at);
    },
  };
}

test('a bundle newer than every source is current; a source edited after it is named', () => {
  const t = tree();
  t.touch('broker/src/a.ts', 60);
  t.touch('broker/dashboard/app.ts', 60);
  t.touch('package-lock.json', 60);
  t.touch('dist/fleet.js', 30);
  const inputs = ['broker', 'shared', 'package-lock.json'];
  assert.is(newerInput(join(t.base, 'dist/fleet.js'), inputs, t.base), undefined);
  t.touch('broker/dashboard/app.ts', 0);
  assert.is(newerInput(join(t.base, 'dist/fleet.js'), inputs, t.base), join(t.base, 'broker/dashboard/app.ts'));
  t.touch('broker/dashboard/app.ts', 60);
  t.touch('package-lock.json', 0);
  assert.is(newerInput(join(t.base, 'dist/fleet.js'), inputs, t.base), join(t.base, 'package-lock.json'));
});

test('tests, node_modules and missing inputs do not make a bundle stale', () => {
  const t = tree();
  t.touch('dist/fleet.js', 30);
  t.touch('broker/test/x.test.ts', 0);
  t.touch('broker/node_modules/dep/index.js', 0);
  assert.is(newerInput(join(t.base, 'dist/fleet.js'), ['broker', 'no-such-folder'], t.base), undefined);
});

test.run();
