// The update transition table: every legal transition gives its state, every other pair is refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UPDATE_STATES } from '../../shared/src/index.js';
import { IllegalTransition, next, TRANSITIONS, UPDATE_EVENTS } from '../../agent/src/update/machine.js';

const LEGAL: [string, string, string][] = [
  ['Idle', 'offer', 'Offered'],
  ['Offered', 'download', 'Downloading'],
  ['Offered', 'failed', 'Failed'],
  ['Offered', 'cancel', 'Failed'],
  ['Downloading', 'downloaded', 'Verifying'],
  ['Downloading', 'failed', 'Failed'],
  ['Downloading', 'cancel', 'Failed'],
  ['Verifying', 'verified', 'Installing'],
  ['Verifying', 'failed', 'Failed'],
  ['Verifying', 'cancel', 'Failed'],
  ['Installing', 'installed', 'Rebooting'],
  ['Installing', 'failed', 'Failed'],
  ['Rebooting', 'switched', 'HealthCheck'],
  ['Rebooting', 'failed', 'Failed'],
  ['Rebooting', 'rollback', 'RolledBack'],
  ['HealthCheck', 'healthy', 'Committed'],
  ['HealthCheck', 'unhealthy', 'RolledBack'],
  ['HealthCheck', 'deadline', 'RolledBack'],
  ['HealthCheck', 'rollback', 'RolledBack'],
  ['Committed', 'reported', 'Idle'],
  ['RolledBack', 'reported', 'Idle'],
  ['Failed', 'reported', 'Idle'],
];

test('every legal transition leads where the table says', () => {
  for (const [from, ev, to] of LEGAL) assert.is(next(from as never, ev as never), to, `${from} --${ev}-->`);
});

test('the table holds exactly the legal transitions; every other pair throws', () => {
  const legal = new Set(LEGAL.map(([f, e]) => `${f}/${e}`));
  let refused = 0;
  for (const s of UPDATE_STATES) {
    assert.ok(TRANSITIONS[s], `${s} has a row`);
    for (const e of UPDATE_EVENTS) {
      if (legal.has(`${s}/${e}`)) continue;
      assert.throws(
        () => next(s, e),
        (err: unknown) => err instanceof IllegalTransition,
      );
      refused++;
    }
  }
  assert.is(refused, UPDATE_STATES.length * UPDATE_EVENTS.length - LEGAL.length);
});

test('cancel is refused once the install started', () => {
  for (const s of ['Installing', 'Rebooting', 'HealthCheck', 'Committed'] as const) {
    assert.throws(() => next(s, 'cancel'), /no transition/);
  }
});

test.run();
