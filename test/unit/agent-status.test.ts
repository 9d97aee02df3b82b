// iot-agent status reads the state folder alone: never ran, ran and stopped, or crashed (a stale runtime record).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openAgentState, readAgentStatus } from '../../agent/src/index.js';
import { formatStatus } from '../../agent/src/cli/status.js';
import { createKvUpdateStore } from '../../agent/src/update/index.js';
import { tmpDir } from '../helpers/tmp.js';

test('a state folder the agent never used reads as empty, not as an error', () => {
  const dir = join(tmpDir(), 'never');
  const r = readAgentStatus(dir);
  assert.equal(
    [r.initialized, r.running, r.connected, r.outboxDepth, r.lastSequence, r.lastAckedSequence, r.dropped],
    [false, false, false, 0, 0, 0, 0],
  );
  assert.match(formatStatus('gw-001', r, Date.now()), /never ran with this state folder/);
});

test('a state folder that is a regular file is an error (AGENT_STATE_DIR), not a folder that never ran', () => {
  const file = join(tmpDir(), 'state');
  writeFileSync(file, 'x');
  assert.throws(
    () => readAgentStatus(file),
    (e: Error & { code?: string }) => e.code === 'AGENT_STATE_DIR' && /is not a folder/.test(e.message),
  );
  assert.throws(
    () => readAgentStatus(join(file, 'below')),
    (e: Error & { code?: string }) => e.code === 'AGENT_STATE_DIR' && /ENOTDIR/.test(e.message),
  );
});

test('a runtime record left by a dead process does not read as running or connected', () => {
  const dir = tmpDir();
  const s = openAgentState(dir, { maxSamples: 10 });
  s.outbox.addSample(1, { a: 1 });
  s.outbox.addSample(2, { a: 2 });
  s.outbox.ackSamples(1, 1);
  s.outbox.addMessage('cmd/ack', Buffer.from('x'));
  // pid 1 under another identity: alive, but not the process that wrote the record.
  s.outbox.setState(
    'runtime',
    JSON.stringify({
      pid: 1,
      identity: 'other-boot:1',
      startedAt: 1,
      updatedAt: 2,
      stoppedAt: null,
      server: 'mqtts://x:8883',
      connected: true,
      connectedSince: 1,
      agentVersion: '0.1.0',
      firmwareVersion: null,
      telemetryIntervalSeconds: 10,
      lastTelemetryAckAt: 5,
      lastMessageAckAt: null,
      lastCommandAt: null,
    }),
  );
  s.close();
  const r = readAgentStatus(dir);
  assert.is(r.initialized, true);
  assert.is(r.running, false);
  assert.is(r.connected, false, 'connected is only believed from a live process');
  assert.equal([r.outboxDepth, r.samples, r.lastSequence, r.lastAckedSequence], [2, 1, 2, 1]);
  assert.equal(r.messages, { 'cmd/ack': 1 });
  assert.is(r.lastTelemetryAckAt, 5);
  const text = formatStatus('gw-001', r, 10_000);
  assert.match(text, /not running \(did not stop cleanly\)/);
  assert.match(text, /2 waiting \(1 samples, 1 messages: cmd\/ack 1\)/);
  assert.match(text, /last made 2, last acknowledged 1\n/);
  assert.match(text, /samples +2 taken = 1 acknowledged \+ 1 waiting \+ 0 dropped\n/);
});

test('drops are shown by reason, and the samples row adds up', () => {
  const dir = tmpDir();
  const s = openAgentState(dir, { maxSamples: 3 });
  for (let i = 1; i <= 5; i++) s.outbox.addSample(i, { i }); // 1 and 2 dropped: outbox full
  s.outbox.ackSamples(3, 3);
  s.outbox.recordDropped('disk-full');
  s.outbox.recordDropped('disk-full');
  s.close();
  const r = readAgentStatus(dir);
  assert.equal([r.lastSequence, r.acknowledged, r.samples, r.dropped], [5, 1, 2, 4]);
  assert.equal(r.droppedBy, { 'outbox-full': 2, 'disk-full': 2, 'write-failed': 0 });
  assert.match(
    formatStatus('gw-001', r, Date.now()),
    /samples +7 taken = 1 acknowledged \+ 2 waiting \+ 4 dropped \(outbox-full 2, disk-full 2\)/,
  );
});

test('the installed firmware, the pending update and its state, then how it ended', () => {
  const dir = tmpDir();
  const s = openAgentState(dir, { maxSamples: 100 });
  const store = createKvUpdateStore(s.outbox);
  const base = {
    v: 1 as const,
    rolloutId: 7,
    releaseId: 'ab'.repeat(32),
    version: '2.0.0',
    size: 1000,
    from: { slot: 'a', version: '1.0.0', sequence: 1 },
    boots: 1,
  };
  store.save({ ...base, state: 'Downloading', done: 400 });
  let r = readAgentStatus(dir);
  assert.equal([r.update?.state, r.update?.done, r.update?.fromVersion], ['Downloading', 400, '1.0.0']);
  assert.match(formatStatus('gw-001', r, 0), /update +2\.0\.0 \(rollout 7\) pending: Downloading 400 of 1000 bytes/);
  store.save({ ...base, state: 'Idle', done: 1000, outcome: 'RolledBack', reasonCode: 'UPDATE_HEALTH' });
  r = readAgentStatus(dir);
  assert.match(formatStatus('gw-001', r, 0), /update +last 2\.0\.0 \(rollout 7\) ended RolledBack: UPDATE_HEALTH/);
  s.close();
  assert.is(readAgentStatus(tmpDir()).update, null);
});

test.run();
