import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError, loadAgentConfig, parseAgentConfig } from '../../agent/src/index.js';
import { tmpDir } from '../helpers/tmp.js';

const valid = { server: 'mqtts://fleet.example:8883', deviceId: 'gw-001', cert: 'device.crt', key: 'device.key', ca: 'ca.crt', stateDir: 'state', telemetryIntervalSeconds: 10 };

test('a valid config gets defaults, absolute paths, and is frozen', () => {
  const c = parseAgentConfig(valid, '/etc/edgeward');
  assert.is(c.cert, '/etc/edgeward/device.crt');
  assert.is(c.outbox.maxSamples, 100_000);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.outbox));
});

test('every problem is listed at once, unknown keys refused', () => {
  try {
    parseAgentConfig({ ...valid, server: 'mqtt://plain:1883', deviceId: 'GW 1', telemetryIntervalSeconds: 0, colour: 'blue', outbox: { maxSamples: 'many' } });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, AgentError);
    const e = err as AgentError;
    assert.is(e.code, 'AGENT_CONFIG_INVALID');
    const paths = (e.details!.issues as { path: string }[]).map((i) => i.path).sort();
    assert.equal(paths, ['colour', 'deviceId', 'outbox.maxSamples', 'server', 'telemetryIntervalSeconds']);
    assert.match(e.message, /5 problems/);
  }
});

test('missing keys and wrong types are reported', () => {
  try {
    parseAgentConfig({ telemetryIntervalSeconds: '10' });
    assert.unreachable();
  } catch (err) {
    const paths = ((err as AgentError).details!.issues as { path: string }[]).map((i) => i.path).sort();
    assert.equal(paths, ['ca', 'cert', 'deviceId', 'key', 'server', 'stateDir', 'telemetryIntervalSeconds']);
  }
});

test('unreadable and non-JSON files are AGENT_CONFIG_UNREADABLE', () => {
  const d = tmpDir();
  assert.throws(() => loadAgentConfig(join(d, 'missing.json')), (e: AgentError) => e.code === 'AGENT_CONFIG_UNREADABLE');
  writeFileSync(join(d, 'bad.json'), '{ "server": ');
  assert.throws(() => loadAgentConfig(join(d, 'bad.json')), (e: AgentError) => e.code === 'AGENT_CONFIG_UNREADABLE');
  writeFileSync(join(d, 'proto.json'), JSON.stringify({ ...valid, __proto__: { polluted: true } }).replace('"server"', '"__proto__":{"x":1},"server"'));
  assert.throws(() => loadAgentConfig(join(d, 'proto.json')), (e: AgentError) => e.code === 'AGENT_CONFIG_INVALID');
});

test.run();
