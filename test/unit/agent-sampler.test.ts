// The sampler on a store that refuses writes (an injected failure, store-independent): every sample that cannot be
// stored is counted as dropped with its reason, takes no sequence number, and the outage is logged once each way.
// Its schedule: a fixed grid from the start, which a late tick does not move.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFakePlatform, createMemoryOutbox, type OutboxStore } from '../../agent/src/index.js';
import { createSampler, nextDue, type SamplerOptions, storeFailureOf } from '../../agent/src/telemetry/sampler.js';
import type { Logger } from '../../shared/src/index.js';

/** A memory outbox whose addSample throws `failure` (a SQLite-like error) while it is set. */
function failingOutbox() {
  const inner = createMemoryOutbox({ maxSamples: 100 });
  let failure: (Error & { code: string }) | undefined;
  const outbox: OutboxStore = {
    ...inner,
    addSample(ts, metrics) {
      if (failure) throw failure;
      return inner.addSample(ts, metrics);
    },
  };
  const fail = (code: string | undefined) =>
    (failure = code ? Object.assign(new Error(`injected ${code}`), { code }) : undefined);
  return { outbox, fail };
}

function recordingLog() {
  const lines: string[] = [];
  const log: Logger = {
    debug: () => {},
    info: () => {},
    warn: (msg, fields) => lines.push(`warn ${msg} ${JSON.stringify(fields ?? {})}`),
    error: (msg, fields) => lines.push(`error ${msg} ${JSON.stringify({ ...fields, error: undefined })}`),
    child: () => log,
  };
  return { log, lines };
}

test('samples that cannot be stored are counted by reason, with no gap in the sequence', async () => {
  const { outbox, fail } = failingOutbox();
  const { log, lines } = recordingLog();
  const stored: number[] = [];
  const sampler = createSampler({
    platform: createFakePlatform(1),
    outbox,
    log,
    intervalMs: 60_000,
    onSample: (seq) => stored.push(seq),
  });
  assert.is(await sampler.sampleNow(), 1);
  fail('SQLITE_FULL');
  for (let i = 0; i < 3; i++) {
    try {
      await sampler.sampleNow();
      assert.unreachable('a sample that cannot be stored is not reported as stored');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'AGENT_SAMPLE_DROPPED');
      assert.match((err as Error).message, /disk-full/);
    }
  }
  fail('SQLITE_IOERR_WRITE');
  await sampler.sampleNow().catch(() => {});
  fail(undefined);
  assert.is(await sampler.sampleNow(), 2, 'the next stored sample takes the next number');
  assert.equal(stored, [1, 2]);
  const s = outbox.stats();
  assert.equal([s.lastSequence, s.samples, s.dropped], [2, 2, 4]);
  assert.equal(s.droppedBy, { 'outbox-full': 0, 'disk-full': 3, 'write-failed': 1 });
  assert.is(s.lastSequence + s.droppedBy['disk-full'] + s.droppedBy['write-failed'], 6, 'six samples taken');
  assert.is(lines.length, 2, `one line when the outage starts, one when it ends:\n${lines.join('\n')}`);
  assert.match(lines[0]!, /^error cannot store telemetry samples.*"reason":"disk-full"/);
  assert.match(lines[1]!, /^warn telemetry samples are stored again.*"dropped":4/);
});

test('store failures are classified: no space is disk-full, anything else write-failed', () => {
  const e = (code: string) => Object.assign(new Error(code), { code });
  assert.is(storeFailureOf(e('SQLITE_FULL')), 'disk-full');
  assert.is(storeFailureOf(e('ENOSPC')), 'disk-full');
  assert.is(storeFailureOf(e('EDQUOT')), 'disk-full');
  assert.is(storeFailureOf(e('SQLITE_IOERR_WRITE')), 'write-failed');
  assert.is(storeFailureOf(e('SQLITE_READONLY')), 'write-failed');
  assert.is(storeFailureOf(new Error('no code')), 'write-failed');
});

test('the next sample is due on the grid from the first, skipping what a stall missed', () => {
  assert.is(nextDue(0, 100, 0), 100, 'on time');
  assert.is(nextDue(0, 100, 99.5), 100, 'a timer that fired a little early does not sample twice');
  assert.is(nextDue(1000, 100, 1030), 1100, 'a tick 30 ms late keeps the phase (setInterval would say 1130)');
  assert.is(nextDue(1000, 100, 1100), 1200, 'never due at the time it is armed');
  assert.is(nextDue(1000, 100, 1350), 1400, 'intervals missed in a stall are skipped, not made up in a burst');
  assert.is(nextDue(5, 10_000, 123_456), 130_005);
});

/** A sampler on a memory outbox, started now; `times` gets each sample's time since the start (ms). */
function startTimed(intervalMs: number, extra: Partial<SamplerOptions> = {}) {
  const times: number[] = [];
  const start = performance.now();
  const sampler = createSampler({
    platform: createFakePlatform(1),
    outbox: createMemoryOutbox({ maxSamples: 100 }),
    log: recordingLog().log,
    intervalMs,
    onSample: () => times.push(performance.now() - start),
    ...extra,
  });
  sampler.start();
  return { sampler, times, start };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Blocks the event loop until performance.now() reaches `until`. */
function blockUntil(until: number): void {
  while (performance.now() < until);
}

test('a stalled event loop does not move the samples off their grid', async () => {
  const interval = 100;
  const { sampler, times } = startTimed(interval);
  await sleep(120);
  // The loop is blocked for 230 ms from ~120 ms: the sample due at 200 runs late, at ~350, and the one due at 300 is
  // skipped. With setInterval every later one would be ~50 ms off the grid; on it, the next is due at 400.
  blockUntil(performance.now() + 230);
  await sleep(5.5 * interval);
  sampler.stop();
  const after = times.filter((t) => t > 380);
  assert.ok(after.length >= 4, `samples after the stall: ${after.map(Math.round).join(', ')}`);
  // Timers only ever run late, so the median of how late each ran is robust to a busy machine.
  const late = after.map((t) => t % interval).sort((a, b) => a - b);
  const median = late[Math.floor(late.length / 2)]!;
  assert.ok(median < 35, `samples ran ${late.map(Math.round).join(', ')} ms after their grid points`);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  assert.ok(Math.min(...gaps) > 10, `no burst after the stall: gaps ${gaps.map(Math.round).join(', ')}`);
});

test('with skipLateMs a tick run later than that takes no sample and is counted; the next is on the grid', async () => {
  let skipped = 0;
  const { sampler, times, start } = startTimed(200, { skipLateMs: 100, onSkipped: () => skipped++ });
  await sleep(250);
  // Blocked until 530 ms: the tick due at 400 runs 130 ms late and takes no sample; the next is due at 600.
  blockUntil(start + 530);
  await sleep(150);
  sampler.stop();
  const at = times.map(Math.round).join(', ');
  assert.ok(skipped >= 1, `the late tick is counted as skipped; samples at ${at}`);
  assert.ok(!times.some((t) => t > 500 && t < 590), `no sample between the stall and 600: ${at}`);
  assert.ok(
    times.some((t) => t >= 590),
    `sampling goes on at 600: ${at}`,
  );
});

test.run();
