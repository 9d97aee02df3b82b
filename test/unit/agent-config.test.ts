import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError, loadAgentConfig, parseAgentConfig } from '../../agent/src/index.js';
import { tmpDir } from '../helpers/tmp.js';
import { generateKeyPair, publicKeyToPem } from '../../shared/src/crypto/index.js';

const valid = {
  server: 'mqtts://fleet.example:8883',
  deviceId: 'gw-001',
  cert: 'device.crt',
  key: 'device.key',
  ca: 'ca.crt',
  stateDir: 'state',
  telemetryIntervalSeconds: 10,
};

test('a valid config gets defaults, absolute paths, and is frozen', () => {
  const c = parseAgentConfig(valid, '/etc/edgeward');
  assert.is(c.cert, '/etc/edgeward/device.crt');
  assert.is(c.outbox.maxSamples, 100_000);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.outbox));
});

test('every problem is listed at once, unknown keys refused', () => {
  try {
    parseAgentConfig({
      ...valid,
      server: 'mqtt://plain:1883',
      deviceId: 'GW 1',
      telemetryIntervalSeconds: 0,
      colour: 'blue',
      outbox: { maxSamples: 'many' },
    });
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

test('server may be a list of mqtts:// URLs: every bad entry is listed at once', () => {
  const c = parseAgentConfig({ ...valid, server: ['mqtts://node-a:8883', 'mqtts://node-b:8883'] }, '/etc/edgeward');
  assert.equal(c.server, ['mqtts://node-a:8883', 'mqtts://node-b:8883']);
  const issuesOf = (server: unknown) => {
    try {
      parseAgentConfig({ ...valid, server });
    } catch (err) {
      return ((err as AgentError).details!.issues as { path: string }[]).map((i) => i.path).sort();
    }
    return [];
  };
  assert.equal(issuesOf(['mqtt://plain:1883', 'mqtts://ok:8883', 'mqtts://ok:8883', 42]), [
    'server[0]',
    'server[2]',
    'server[3]',
  ]);
  assert.equal(issuesOf([]), ['server']);
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
  assert.throws(
    () => loadAgentConfig(join(d, 'missing.json')),
    (e: AgentError) => e.code === 'AGENT_CONFIG_UNREADABLE',
  );
  writeFileSync(join(d, 'bad.json'), '{ "server": ');
  assert.throws(
    () => loadAgentConfig(join(d, 'bad.json')),
    (e: AgentError) => e.code === 'AGENT_CONFIG_UNREADABLE',
  );
  writeFileSync(
    join(d, 'proto.json'),
    JSON.stringify({ ...valid, __proto__: { polluted: true } }).replace('"server"', '"__proto__":{"x":1},"server"'),
  );
  assert.throws(
    () => loadAgentConfig(join(d, 'proto.json')),
    (e: AgentError) => e.code === 'AGENT_CONFIG_INVALID',
  );
});

test('operators: inline PEM or a file, allow lists checked, every key problem listed at once', () => {
  const d = tmpDir();
  const alice = generateKeyPair();
  writeFileSync(join(d, 'bob.pub'), publicKeyToPem(generateKeyPair().publicKey));
  const c = parseAgentConfig(
    {
      ...valid,
      operators: [
        { name: 'alice', publicKey: publicKeyToPem(alice.publicKey), allow: ['*'] },
        { name: 'bob', publicKey: 'bob.pub', allow: ['set-relay', 'reboot'] },
      ],
    },
    d,
  );
  assert.is(c.operators.length, 2);
  assert.match(c.operators[1]!.publicKey, /BEGIN PUBLIC KEY/, 'a key file is read and kept inline');
  assert.is(c.commands.clockToleranceSeconds, 300);
  assert.is(c.commands.initialSetpointC, 20);
  assert.is(c.outbox.maxMessages, 1000);
  assert.equal(c.commands.hooks.reboot, ['systemctl', 'reboot']);

  const smallOrder = publicKeyToPem(new Uint8Array(32).fill(0).map((_, i) => (i === 0 ? 1 : 0)));
  try {
    parseAgentConfig(
      {
        ...valid,
        server: 'mqtt://plain',
        operators: [
          { name: 'alice', publicKey: publicKeyToPem(alice.publicKey), allow: ['self-destruct'] },
          { name: 'weak', publicKey: smallOrder, allow: ['*'] },
          { name: 'gone', publicKey: 'missing.pub', allow: ['*'] },
          { name: 'alice2', publicKey: publicKeyToPem(alice.publicKey), allow: ['*', 'reboot'] },
        ],
      },
      d,
    );
    assert.unreachable();
  } catch (err) {
    const issues = ((err as AgentError).details!.issues as { path: string; message: string }[]).map(
      (i) => `${i.path}: ${i.message}`,
    );
    assert.ok(
      issues.some((i) => i.startsWith('server:')),
      'other problems are still listed',
    );
    assert.ok(issues.some((i) => /operators\[0\]\.allow\[0\]: unknown command "self-destruct"/.test(i)));
    assert.ok(issues.some((i) => /operators\[1\]\.publicKey: .*small-order/.test(i)));
    assert.ok(issues.some((i) => /operators\[2\]\.publicKey: cannot read .*missing\.pub: ENOENT/.test(i)));
    assert.ok(issues.some((i) => /operators\[3\]: same key as operators\[0\]/.test(i)));
    assert.ok(issues.some((i) => /operators\[3\]\.allow: "\*" already allows every command/.test(i)));
  }
});

test('the update section: off by default, paths resolved, script installer needs its hooks, bad hooks refused', () => {
  const off = parseAgentConfig(valid, '/etc/edgeward');
  assert.equal(
    [off.update.trust, off.update.installer, off.update.healthCheck.deadlineSeconds],
    [undefined, 'ab', 300],
  );
  const on = parseAgentConfig({ ...valid, update: { trust: 'trust.cbor', hardware: 'acme-gw' } }, '/etc/edgeward');
  assert.equal([on.update.trust, on.update.hardware], ['/etc/edgeward/trust.cbor', 'acme-gw']);
  const issues = (raw: unknown) => {
    try {
      parseAgentConfig(raw, '/etc/edgeward');
      return '';
    } catch (err) {
      return (err as AgentError).message;
    }
  };
  assert.match(issues({ ...valid, update: { installer: 'script' } }), /update\.hooks/);
  assert.match(
    issues({ ...valid, update: { healthCheck: { hook: 'rm -rf {all}' }, hardware: 'bad hw', surprise: 1 } }),
    /update\.healthCheck\.hook[\s\S]*update\.hardware|update\.hardware[\s\S]*update\.healthCheck\.hook/,
  );
});

test.run();
