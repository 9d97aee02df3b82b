// The rollout's pure rules: the transition table (and the schema's trigger, which must agree with it on every
// pair of states), stage sizes, request checks, selectors and the halt reason's words.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { migrations } from '../../broker/src/db/migrations.js';
import { migrate, openDb } from '../../broker/src/db/open.js';
import {
  checkRolloutRequest,
  nextRolloutState,
  parseSelector,
  ROLLOUT_STATES,
  ROLLOUT_TRANSITIONS,
  type RolloutEvent,
  stageSize,
} from '../../broker/src/db/rollout-rules.js';
import { haltReason } from '../../broker/src/fleet/rollouts.js';
import { tmpDir } from '../helpers/tmp.js';

test('the transition table, written out', () => {
  const events = Object.keys(ROLLOUT_TRANSITIONS) as RolloutEvent[];
  const moves = ROLLOUT_STATES.flatMap((from) =>
    events.flatMap((e) => {
      const to = nextRolloutState(from, e);
      return to ? [`${from} -${e}-> ${to}`] : [];
    }),
  );
  assert.equal(moves.sort(), [
    'halted -abort-> aborted',
    'halted -resume-> running',
    'paused -abort-> aborted',
    'paused -resume-> running',
    'running -abort-> aborted',
    'running -complete-> completed',
    'running -halt-> halted',
    'running -pause-> paused',
  ]);
});

test("the schema's trigger allows exactly the table's moves", () => {
  const db = openDb(join(tmpDir('edgeward-rollout-rules-'), 'fleet.db'));
  migrate(db, migrations);
  db.prepare(
    `INSERT INTO releases (id, hardware, version, sequence, size, payload_size, payload_sha256, manifest, signers,
       expires_at, published_at) VALUES (?, 'hw', '1', 1, 1, 1, '', x'00', '[]', 0, 0)`,
  ).run('0'.repeat(64));
  const allowed = new Set(
    ROLLOUT_STATES.flatMap((from) =>
      (Object.keys(ROLLOUT_TRANSITIONS) as RolloutEvent[]).map((e) => `${from}>${nextRolloutState(from, e)}`),
    ),
  );
  for (const from of ROLLOUT_STATES) {
    for (const to of ROLLOUT_STATES) {
      if (from === to) continue;
      // Inserted in `from` (the trigger checks updates of the state only).
      const id = db
        .prepare(
          `INSERT INTO rollouts (release_id, selector, stages, success_threshold, error_threshold, min_wait_ms, state,
             stage_started_at, created_at, updated_at) VALUES (?, 'all', '[100]', 1, 0, 0, ?, 0, 0, 0)`,
        )
        .run('0'.repeat(64), from).lastInsertRowid;
      let ok = true;
      try {
        db.prepare('UPDATE rollouts SET state = ? WHERE id = ?').run(to, id);
      } catch {
        ok = false;
      }
      assert.is(ok, allowed.has(`${from}>${to}`), `${from} → ${to}`);
    }
  }
  db.close();
});

test('stage sizes: the first ceil(p% × N) positions', () => {
  const stages = [1, 10, 50, 100];
  assert.equal(
    stages.map((_, i) => stageSize(stages, i, 10)),
    [1, 1, 5, 10],
  );
  assert.equal(
    stages.map((_, i) => stageSize(stages, i, 1000)),
    [10, 100, 500, 1000],
  );
  assert.equal(
    [57, 100].map((_, i) => stageSize([0.57 * 100, 100], i, 100)),
    [57, 100],
  );
});

test('request checks report every problem at once', () => {
  try {
    checkRolloutRequest({ releaseId: 'x', stages: [50, 10], successThreshold: 2, minWaitMs: -1 });
    assert.unreachable();
  } catch (err) {
    const e = err as Error & { code: string };
    assert.is(e.code, 'FLEET_ROLLOUT_INVALID');
    for (const part of ['rise', 'last stage', 'success threshold', 'minimum wait']) assert.ok(e.message.includes(part));
  }
  assert.equal(checkRolloutRequest({ releaseId: 'x' }), {
    stages: [1, 10, 50, 100],
    successThreshold: 0.95,
    errorThreshold: 0.1,
    minWaitMs: 600_000,
  });
});

test('selectors', () => {
  assert.equal(parseSelector(undefined), { kind: 'all' });
  assert.equal(parseSelector('type:gw'), { kind: 'type', value: 'gw' });
  assert.equal(parseSelector('hardware:hw-2'), { kind: 'hardware', value: 'hw-2' });
  assert.equal(parseSelector('ids:a, b,a'), { kind: 'ids', ids: ['a', 'b'] });
  assert.throws(() => parseSelector('name:x'), /unknown device selector/);
});

test('the halt reason in words', () => {
  assert.is(
    haltReason(3, 10, 0.1, [
      { reasonCode: 'FW_PAYLOAD_DIGEST', devices: 2 },
      { reasonCode: 'UPDATE_HEALTH', devices: 1 },
    ]),
    '3 of 10 offered devices failed (30 % > 10 %): FW_PAYLOAD_DIGEST ×2, UPDATE_HEALTH ×1',
  );
});

test.run();
