// The agent's server rounds: every server once per round in a random order, a new round not starting with the
// server that just failed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serverRound } from '../../agent/src/mqtt/connection.js';

const urls = ['mqtts://a:8883', 'mqtts://b:8883', 'mqtts://c:8883', 'mqtts://d:8883'];

test('a round holds every server exactly once', () => {
  for (let seed = 0; seed < 50; seed++) {
    let x = seed / 50;
    const random = () => (x = (x * 9301 + 0.49297) % 1);
    assert.equal([...serverRound(urls, random)].sort(), urls);
  }
});

test('a new round does not start with the server that just failed, when there is another', () => {
  for (const first of urls) assert.is.not(serverRound(urls, () => 0, first)[0], first);
  assert.equal(serverRound(['mqtts://only:8883'], Math.random, 'mqtts://only:8883'), ['mqtts://only:8883']);
});

test('the order is random: over many rounds every server comes first', () => {
  const firsts = new Set<string>();
  for (let i = 0; i < 200; i++) firsts.add(serverRound(urls, Math.random)[0]!);
  assert.is(firsts.size, urls.length);
});

test.run();
