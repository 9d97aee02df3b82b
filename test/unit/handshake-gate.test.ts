// The handshake gate: connections still in their TLS handshake, capped per source address and in total.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHandshakeGate } from '../../broker/src/limits/handshake-gate.js';

test('per address: beyond the cap a new connection is refused; a settled one frees its place', () => {
  const gate = createHandshakeGate<string>({ maxPerAddress: 2, maxTotal: 100 });
  assert.is(gate.admit('a1', '10.0.0.1', 'a1').action, 'admitted');
  assert.is(gate.admit('a2', '10.0.0.1', 'a2').action, 'admitted');
  assert.is(gate.admit('a3', '10.0.0.1', 'a3').action, 'refused');
  assert.is(gate.admit('b1', '10.0.0.2', 'b1').action, 'admitted', 'another address is not affected');
  gate.settle('a1');
  assert.is(gate.admit('a4', '10.0.0.1', 'a4').action, 'admitted');
  assert.is(gate.size, 3);
  assert.is(gate.addresses, 2);
});

test('in total: at the cap a new connection evicts the oldest handshake in progress', () => {
  const gate = createHandshakeGate<string>({ maxPerAddress: 100, maxTotal: 3 });
  for (const k of ['k1', 'k2', 'k3']) gate.admit(k, `10.0.0.${k}`, k);
  gate.settle('k1'); // finished its handshake: no longer a candidate
  gate.admit('k4', '10.0.0.4', 'k4');
  const a = gate.admit('k5', '10.0.0.5', 'k5');
  assert.equal(a, { action: 'admitted-evicting', evicted: 'k2', evictedAddress: '10.0.0.k2' });
  assert.is(gate.size, 3);
  const b = gate.admit('k6', '10.0.0.6', 'k6');
  assert.is(b.action === 'admitted-evicting' && b.evicted, 'k3');
});

test('settle is idempotent and ignores a connection that no longer owns its key', () => {
  const gate = createHandshakeGate<object>({ maxPerAddress: 1, maxTotal: 10 });
  const first = {};
  const second = {};
  gate.admit('k', '10.0.0.1', first);
  gate.settle('k', first);
  gate.settle('k', first);
  assert.is(gate.size, 0);
  gate.admit('k', '10.0.0.1', second);
  gate.settle('k', first); // the close of an older connection with the same 4-tuple, reported late
  assert.is(gate.size, 1);
  assert.is(gate.admit('k2', '10.0.0.1', {}).action, 'refused', 'the per-address count was not decremented twice');
});

test('a flood of 100,000 connections, half of them from one address, stays within both caps', () => {
  const gate = createHandshakeGate<number>({ maxPerAddress: 100, maxTotal: 2048 });
  let refused = 0;
  let evicted = 0;
  for (let i = 0; i < 100_000; i++) {
    const a = gate.admit(`c${i}`, i % 2 ? `address-${i % 64}` : 'heavy', i);
    if (a.action === 'refused') refused++;
    if (a.action === 'admitted-evicting') evicted++;
  }
  assert.is(gate.size, 2048);
  assert.is(gate.addresses, 33);
  assert.ok(refused > 0 && evicted > 0, `refused ${refused}, evicted ${evicted}`);
});

test.run();
