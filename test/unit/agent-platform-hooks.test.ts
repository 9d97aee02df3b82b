// The Linux platform's script hooks: no shell, validated arguments, time limits, failures typed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError, createHookRunner, createLinuxPlatform, parseAgentConfig } from '../../agent/src/index.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const log = join(dir, 'calls.log');
const script = join(dir, 'relay');
writeFileSync(script, `#!/bin/sh\necho "$#:$*" >> ${log}\n`);
chmodSync(script, 0o755);
const failing = join(dir, 'fail');
writeFileSync(failing, '#!/bin/sh\necho "relay board not found" >&2\nexit 3\n');
chmodSync(failing, 0o755);

const base = { server: 'mqtts://fleet.example:8883', deviceId: 'gw-001', cert: 'c', key: 'k', ca: 'a', stateDir: dir };

test('hooks run with their placeholders filled from validated parameters, without a shell', async () => {
  const config = parseAgentConfig({
    ...base,
    commands: {
      hooks: {
        setRelay: `${script} {channel} {state} {on}`,
        setSetpoint: [script, 'temp={celsius}'],
        reboot: [script, 'reboot'],
      },
    },
  });
  const p = createLinuxPlatform({ diskPath: dir, hooks: config.commands.hooks, hookTimeoutMs: 5000 });
  await p.setRelay!(3, true);
  await p.setRelay!(0, false);
  await p.setSetpoint!(21.5);
  await p.reboot!();
  assert.equal(readFileSync(log, 'utf8').trim().split('\n'), ['3:3 on 1', '3:0 off 0', '1:temp=21.5', '1:reboot']);
  assert.type((await p.readMetrics()).cpuLoad1, 'number');
});

test('without hooks there is no relay or thermostat; reboot defaults to systemctl and can be disabled', () => {
  const config = parseAgentConfig(base);
  assert.equal(config.commands.hooks.reboot, ['systemctl', 'reboot']);
  const p = createLinuxPlatform({ diskPath: dir, hooks: config.commands.hooks });
  assert.is(p.setRelay, undefined);
  assert.is(p.setSetpoint, undefined);
  assert.type(p.reboot, 'function');
  const off = parseAgentConfig({ ...base, commands: { hooks: { reboot: null } } });
  assert.is(createLinuxPlatform({ diskPath: dir, hooks: off.commands.hooks }).reboot, undefined);
});

test('a failing, missing or slow hook is AGENT_HOOK_FAILED with the reason', async () => {
  const run = createHookRunner({ timeoutMs: 300 });
  const code = async (argv: string[]) => {
    try {
      await run(argv, {});
      return 'ok';
    } catch (err) {
      assert.instance(err, AgentError);
      return `${(err as AgentError).code} ${(err as Error).message}`;
    }
  };
  assert.match(await code([failing]), /AGENT_HOOK_FAILED .*exited with 3: relay board not found/);
  assert.match(await code([join(dir, 'missing')]), /AGENT_HOOK_FAILED .*could not start \(ENOENT\)/);
  assert.match(await code(['/bin/sleep', '5']), /AGENT_HOOK_FAILED .*timed out/);
});

test('values that do not look like validated parameters never reach a hook', async () => {
  const run = createHookRunner({ timeoutMs: 1000 });
  for (const v of ['1; reboot', '$(id)', '', 'a b', '../x/..'.repeat(10)]) {
    await run([script, '{channel}'], { channel: v }).then(
      () => assert.unreachable(v),
      (err: AgentError) => assert.is(err.code, 'AGENT_HOOK_FAILED'),
    );
  }
});

test('hook config: unknown placeholders and relative programs are refused, all at once', () => {
  try {
    parseAgentConfig({
      ...base,
      commands: { hooks: { setRelay: 'bin/relay {channel} {colour}', setSetpoint: [], reboot: '/sbin/reboot {now}' } },
    });
    assert.unreachable();
  } catch (err) {
    const issues = ((err as AgentError).details!.issues as { path: string; message: string }[]).map(
      (i) => `${i.path}: ${i.message}`,
    );
    assert.is(issues.length, 4, issues.join('\n'));
    assert.ok(issues.some((i) => /setRelay: .*absolute path/.test(i)));
    assert.ok(issues.some((i) => /setRelay: unknown placeholder \{colour\}/.test(i)));
    assert.ok(issues.some((i) => /setSetpoint: expected a command line/.test(i)));
    assert.ok(issues.some((i) => /reboot: unknown placeholder \{now\}/.test(i)));
  }
});

test.run();
