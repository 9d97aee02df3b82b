// iot-agent install / uninstall: a --dry-run golden file, and a real install into a temporary root whose unit
// passes `systemd-analyze verify`. UPDATE_GOLDEN=1 rewrites the golden file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAgentConfig } from '../../agent/src/index.js';
import { installCommand, uninstallCommand } from '../../agent/src/install/cli.js';
import { testWithPeers } from '../helpers/peers.js';
import { agentCli, run } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const fixtures = fileURLToPath(new URL('../fixtures/install/', import.meta.url)).replace(/\/$/, '');
const golden = join(fixtures, 'dry-run.txt');
const common = [
  '--config',
  join(fixtures, 'agent.json'),
  '--node',
  '/usr/bin/node',
  '--agent',
  '/opt/edgeward/lib/iot-agent.js',
];

test('install --dry-run prints every step and file, never the key, and writes nothing (golden)', async () => {
  const r = await agentCli(['install', '--dry-run', ...common]);
  assert.is(r.code, 0, r.output);
  const out = r.stdout.split(fixtures).join('<fixtures>');
  if (process.env.UPDATE_GOLDEN) writeFileSync(golden, out);
  assert.fixture(out, readFileSync(golden, 'utf8'));
  assert.not.match(r.stdout, /Tm90IGEgcmVhbCBrZXk6/, 'the device key is never printed');
  assert.ok(
    !existsSync('/etc/edgeward/agent.json') || statSync('/etc/edgeward/agent.json').mtimeMs < Date.now() - 60_000,
  );
});

test('uninstall --dry-run lists what it would remove, keeping the state folder unless --purge', async () => {
  const r = await agentCli(['uninstall', '--dry-run']);
  assert.is(r.code, 0, r.output);
  assert.match(r.stdout, /run systemctl disable --now edgeward-agent\.service/);
  assert.match(r.stdout, /remove \/etc\/edgeward \(and everything in it\)/);
  assert.not.match(r.stdout, /\/var\/lib\/edgeward/);
  const purge = await agentCli(['uninstall', '--dry-run', '--purge']);
  assert.match(purge.stdout, /remove \/var\/lib\/edgeward \(and everything in it\)\ndelete system user edgeward/);
});

test('install refuses a config with problems, listing them all', async () => {
  const d = tmpDir();
  writeFileSync(
    join(d, 'agent.json'),
    JSON.stringify({ server: 'mqtt://x', deviceId: 'gw-001', cert: 'nope.crt', key: 'k', ca: 'c', stateDir: 's' }),
  );
  const r = await agentCli(['install', '--dry-run', '--config', join(d, 'agent.json'), '--agent', '/opt/a.js']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /AGENT_CONFIG_INVALID/);
});

const root = tmpDir('edgeward-root-');
const lines: string[] = [];
const io = { out: (l: string) => void lines.push(l), err: (l: string) => void lines.push(l) };
const mode = (p: string) => (statSync(join(root, p)).mode & 0o777).toString(8);

test('a real install into a temporary root writes every file with its mode', async () => {
  assert.is(await installCommand(['--root', root, ...common], io), 0);
  assert.is(mode('etc/edgeward'), '755');
  assert.is(mode('etc/edgeward/device.key'), '600');
  assert.is(mode('etc/edgeward/device.crt'), '644');
  assert.is(mode('etc/edgeward/agent.json'), '644');
  assert.is(mode('var/lib/edgeward'), '700');
  assert.is(mode('etc/systemd/system/edgeward-agent.service'), '644');
  assert.is(
    readFileSync(join(root, 'etc/edgeward/device.key'), 'utf8'),
    readFileSync(join(fixtures, 'device.key'), 'utf8'),
  );
  // The installed config names the installed paths, holds the operator key inline, and is valid.
  const installed = JSON.parse(readFileSync(join(root, 'etc/edgeward/agent.json'), 'utf8')) as Record<string, unknown>;
  assert.is(installed.key, '/etc/edgeward/device.key');
  assert.is(installed.stateDir, '/var/lib/edgeward');
  const config = parseAgentConfig(installed, '/etc/edgeward');
  assert.match(config.operators[0]!.publicKey, /BEGIN PUBLIC KEY/);
  assert.equal(config.commands.hooks.setRelay, ['/usr/local/bin/relay', '{channel}', '{state}']);
  const unit = readFileSync(join(root, 'etc/systemd/system/edgeward-agent.service'), 'utf8');
  for (const line of [
    'User=edgeward',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'ReadWritePaths=/var/lib/edgeward',
    'CapabilityBoundingSet=\n',
  ]) {
    assert.ok(unit.includes(line), line);
  }
  assert.match(
    unit,
    new RegExp(
      '^ExecStart=/usr/bin/node --max-semi-space-size=1 /opt/edgeward/lib/iot-agent\\.js run ' +
        '--config /etc/edgeward/agent\\.json$',
      'm',
    ),
  );
  assert.ok(existsSync(join(root, 'etc/polkit-1/rules.d/50-edgeward-agent.rules')));
  assert.ok(
    lines.some((l) => /skipped under --root/.test(l)),
    'user creation and systemctl are left to the target',
  );
});

testWithPeers(['systemd-analyze'], 'apt-get install systemd')(
  'the installed unit passes systemd-analyze verify, with a low exposure score',
  async () => {
    const unit = join(root, 'etc/systemd/system/edgeward-agent.service');
    const v = await run('systemd-analyze', ['verify', unit]);
    assert.is(v.code, 0, v.output);
    assert.is(v.output.trim(), '', `no warnings: ${v.output}`);
    const s = await run('systemd-analyze', ['security', '--offline=true', unit]);
    const level = Number(/Overall exposure level for .*: ([\d.]+)/.exec(s.output)?.[1]);
    assert.ok(level <= 3, `exposure ${level} (0 = locked down, 10 = exposed)`);
  },
);

test('re-installing over an install is fine, and uninstall reverses it (state kept unless --purge)', async () => {
  assert.is(await installCommand(['--root', root, ...common], io), 0);
  writeFileSync(join(root, 'var/lib/edgeward/agent.db'), 'state');
  assert.is(await uninstallCommand(['--root', root], io), 0);
  for (const p of [
    'etc/edgeward',
    'etc/systemd/system/edgeward-agent.service',
    'etc/polkit-1/rules.d/50-edgeward-agent.rules',
  ])
    assert.not.ok(existsSync(join(root, p)), p);
  assert.ok(existsSync(join(root, 'var/lib/edgeward/agent.db')), 'the state folder stays');
  assert.is(await uninstallCommand(['--root', root, '--purge'], io), 0);
  assert.not.ok(existsSync(join(root, 'var/lib/edgeward')));
});

test.run();
