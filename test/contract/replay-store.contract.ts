// The replay-store contract, run against every ReplayStore implementation (SQLite on a gateway, memory in the
// simulator). Lives in helpers/ for now; test/contract/ is its natural home.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ReplayOptions, ReplayStore } from '../../agent/src/index.js';

const entry = (nonce: string, counter: number, exp = 1000, kid = 'k1') => ({
  kid,
  nonce,
  counter,
  exp,
  cmdId: `cmd-${nonce}-0000`,
});

export function replayStoreContract(name: string, make: (opts: ReplayOptions) => ReplayStore): void {
  const t = suite(`replay store contract: ${name}`);

  t('a nonce is admitted once', () => {
    const s = make({});
    assert.is(s.admit(entry('aa', 1)), 'ok');
    assert.is(s.admit(entry('aa', 2)), 'nonce-seen');
    assert.is(s.lastCounter('k1'), 1, 'a refused entry changes nothing');
    s.close();
  });

  t('counters are per key and strictly increasing', () => {
    const s = make({});
    assert.is(s.lastCounter('k1'), 0);
    assert.is(s.admit(entry('a1', 10)), 'ok');
    assert.is(s.admit(entry('a2', 10)), 'counter-stale');
    assert.is(s.admit(entry('a3', 9)), 'counter-stale');
    assert.is(s.admit(entry('a4', 11)), 'ok');
    assert.is(s.admit(entry('b1', 1, 1000, 'k2')), 'ok');
    assert.is(s.lastCounter('k1'), 11);
    assert.is(s.lastCounter('k2'), 1);
    assert.equal(s.stats(), { nonces: 3, keys: 2 });
    s.close();
  });

  t('prune forgets expired nonces but never counters', () => {
    const s = make({});
    s.admit(entry('n1', 1, 100));
    s.admit(entry('n2', 2, 200));
    s.admit(entry('n3', 3, 300));
    assert.is(s.prune(250), 2);
    assert.is(s.stats().nonces, 1);
    assert.is(s.admit(entry('n1', 1, 100)), 'counter-stale', 'the counter still refuses a forgotten nonce');
    assert.is(s.admit(entry('n3', 4, 300)), 'nonce-seen');
    s.close();
  });

  t('past maxNonces the oldest nonces are forgotten first', () => {
    const s = make({ maxNonces: 3 });
    for (let i = 1; i <= 5; i++) assert.is(s.admit(entry(`x${i}`, i)), 'ok');
    assert.is(s.stats().nonces, 3);
    assert.is(s.admit(entry('x5', 6)), 'nonce-seen', 'the newest are kept');
    assert.is(s.admit(entry('x1', 7)), 'ok', 'the oldest was forgotten (the counter guards it)');
    s.close();
  });

  t.run();
}
