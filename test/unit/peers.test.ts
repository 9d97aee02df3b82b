// The peer helper every interoperability test stands on: a missing peer is skipped loudly with its install line,
// and under CI=true it fails the run instead. (peers.ts hands back the calling file's uvu suite; that file runs it.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { havePeers, testWithPeers, which } from '../helpers/peers.js';

function withCi<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.CI;
  if (value === undefined) delete process.env.CI;
  else process.env.CI = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
}

function capture(fn: () => unknown): string {
  const log = console.log;
  let out = '';
  console.log = (...args: unknown[]) => void (out += `${args.join(' ')}\n`);
  try {
    fn();
  } finally {
    console.log = log;
  }
  return out;
}

test('which finds an installed command, and not a made-up one', () => {
  assert.match(which('sh') ?? '', /\/sh$/);
  assert.is(which('edgeward-no-such-peer'), undefined);
});

test('a present peer: the real test function, nothing printed', () => {
  let ok: boolean | undefined;
  assert.is(
    capture(() => (ok = withCi(undefined, () => havePeers(['sh'], 'apt-get install dash')))),
    '',
  );
  assert.is(ok, true);
  assert.is(
    withCi(undefined, () => testWithPeers(['sh'], 'apt-get install dash')),
    test,
  );
});

test('a missing peer outside CI: skipped, with the install line printed', () => {
  let ok: boolean | undefined;
  const out = capture(
    () => (ok = withCi(undefined, () => havePeers(['sh', 'edgeward-no-such-peer'], 'apt-get install nothing-here'))),
  );
  assert.is(ok, false);
  assert.is(out, 'SKIP missing peer edgeward-no-such-peer: install with `apt-get install nothing-here`\n');
  let skipping: typeof test | undefined;
  capture(() => (skipping = withCi(undefined, () => testWithPeers(['edgeward-no-such-peer'], 'x'))));
  assert.ok(skipping && skipping !== test);
  // The file's hooks are taken and never run (they would start the missing peer); its test.run() still works.
  let ran = false;
  const hook = () => void (ran = true);
  skipping!.before(hook);
  skipping!.before.each(hook);
  skipping!.after(hook);
  skipping!.after.each(hook);
  assert.is(ran, false);
  assert.type(skipping!.run, 'function');
  assert.type(skipping!.skip, 'function');
});

test('a missing peer under CI=true: an error naming the peer and the install line', () => {
  assert.throws(
    () => withCi('true', () => havePeers(['edgeward-no-such-peer'], 'apt-get install nothing-here')),
    (err: Error) =>
      err.message.includes('missing peer edgeward-no-such-peer: install with `apt-get install nothing-here`') &&
      err.message.includes('(CI=true makes a missing peer a failure)'),
  );
});

test.run();
