// One agent per state folder: a second `iot-agent run` on the folder of a running agent exits 1 with
// AGENT_STATE_IN_USE, `iot-agent status` still reads it, and the lock goes with the process however it ends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { openAgentState, type AgentError } from '../../agent/src/index.js';
import { startAgentProcess, writeAgentConfig } from '../helpers/agent-process.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { agentCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet(['gw-lock']);
});
test.after(async () => {
  await fleet.close();
});

test('a second agent on the same state folder is refused; status works; a killed agent leaves no lock', async () => {
  const dir = fleet.deviceDir('gw-lock');
  const file = writeAgentConfig(dir, {
    server: 'mqtts://127.0.0.1:1', // nothing listens: the agent keeps running and retrying
    deviceId: 'gw-lock',
    cert: 'device.crt',
    key: 'device.key',
    ca: 'ca.crt',
    stateDir: 'state',
    scan: { enabled: false },
  });
  const first = startAgentProcess(file);
  try {
    await waitFor(() => first.output().includes('agent started'), 'the first agent started', 15_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${first.output()}`);
      },
    );
    const second = await agentCli(['run', '--config', file], { timeoutMs: 15_000 });
    assert.is(second.code, 1, `exit code (null: still running after 15 s)\n${second.output}`);
    assert.match(second.stderr, /^error AGENT_STATE_IN_USE: another agent is running on the state folder /m);

    const status = await agentCli(['status', '--config', file]);
    assert.is(status.code, 0, status.output);
    assert.match(status.stdout, new RegExp(`agent +running \\(pid ${first.child.pid}\\)`));
  } finally {
    assert.is(await first.kill('SIGKILL'), 'SIGKILL');
  }
  // The operating system released the lock with the process.
  openAgentState(join(dir, 'state'), { maxSamples: 10 }).close();
});

test('in one process too: the folder is taken until the first state is closed', () => {
  const dir = join(tmpDir(), 'state');
  const a = openAgentState(dir, { maxSamples: 10 });
  assert.throws(
    () => openAgentState(dir, { maxSamples: 10 }),
    (e: AgentError) => e.code === 'AGENT_STATE_IN_USE',
  );
  a.outbox.addSample(1, { a: 1 });
  a.close();
  const b = openAgentState(dir, { maxSamples: 10 });
  assert.is(b.outbox.stats().lastSequence, 1);
  b.close();
});

test.run();
