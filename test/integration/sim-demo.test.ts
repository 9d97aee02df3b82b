// `fleet-sim demo` (npm start) as a user meets it: it registers an admin operator for its folder, and the operator
// API commands it prints work as printed — list the devices, send a signed command the agents run, get a token and
// read the API with curl — then Ctrl-C stops it cleanly. A second start reuses the operator.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../helpers/mosquitto.js';
import { testWithPeers } from '../helpers/peers.js';
import { fleetCli, run } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

// The printed curl line is run as printed.
const withCurl = testWithPeers(['curl'], 'apt-get install curl');
const root = tmpDir('edgeward-demo-');
const dataDir = join(root, 'demo');

interface Demo {
  readonly child: ChildProcess;
  /** Everything printed up to "Ctrl-C stops everything.". */
  readonly lines: string[];
  stop(): Promise<number | null>;
  /** Everything printed so far. */
  output(): string;
}

/** Starts the demo from the sources and waits until it has printed what to try. */
async function startDemo(): Promise<Demo> {
  const [mqtt, http] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'simulator/src/main.ts',
      'demo',
      '--data',
      dataDir,
      '--devices',
      '2',
      '--interval',
      '1',
      '--mqtt-port',
      String(mqtt),
      '--http-port',
      String(http),
      '--download-port',
      String(await freePort()),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!out.includes('Ctrl-C stops everything.')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`the demo did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    lines: out.split('\n'),
    async stop() {
      child.kill('SIGINT');
      return exited;
    },
    output: () => out,
  };
}

/** The arguments of the printed `npx fleet …` command that starts with `prefix` (paths hold no spaces here). */
function printed(lines: string[], prefix: string): string[] {
  const line = lines.map((l) => l.trim()).find((l) => l.startsWith(prefix));
  assert.ok(line, `the demo prints a line starting with ${prefix}:\n${lines.join('\n')}`);
  return line!.replace(/^npx fleet /, '').split(' ');
}

withCurl('the operator API commands the demo prints work as printed', async () => {
  const demo = await startDemo();
  try {
    assert.ok(
      demo.lines.some((l) => /^ {2}admin +demo-admin: credential /.test(l)),
      demo.lines.join('\n'),
    );
    const list = await fleetCli(printed(demo.lines, 'npx fleet device list --server'));
    assert.is(list.code, 0, list.output);
    assert.match(list.stdout, /demo-001\s+active/);
    assert.match(list.stdout, /demo-002\s+active/);

    // Signed with the credential, checked by the server, run by the agent that trusts the same key.
    const sendArgs = demo.lines
      .map((l) => l.trim())
      .filter((l) => l.startsWith('npx fleet cmd send demo-001') && l.includes('--server'))
      .map((l) => l.replace(/^npx fleet /, '').split(' '));
    assert.is(sendArgs.length, 1, 'cmd send through the API is printed');
    const relay = await fleetCli(sendArgs[0]!, { timeoutMs: 30_000 });
    assert.is(relay.code, 0, relay.output);
    assert.match(relay.stdout, /demo-001 {2}set-relay {2}done/);

    const exportLine = demo.lines.map((l) => l.trim()).find((l) => l.startsWith('export EDGEWARD_TOKEN=$('))!;
    const tokenArgs = /\$\(npx fleet (.*)\)$/.exec(exportLine)![1]!.split(' ');
    const token = await fleetCli(tokenArgs);
    assert.is(token.code, 0, token.output);
    const curlArgs = printed(demo.lines, 'curl --cacert').slice(1);
    // The printed line quotes its header for a shell: `-H "Authorization: Bearer $EDGEWARD_TOKEN"`.
    const h = curlArgs.indexOf('-H');
    const args = [
      ...curlArgs.slice(0, h),
      '-s',
      '-H',
      `Authorization: Bearer ${token.stdout.trim()}`,
      ...curlArgs.slice(h + 4),
    ];
    const curl = await run('curl', args);
    assert.is(curl.code, 0, curl.output);
    const body = JSON.parse(curl.stdout) as { items: { id: string }[] };
    assert.equal(
      body.items.map((d) => d.id),
      ['demo-001', 'demo-002'],
    );

    // The printed dashboard link opens a session once (curl resolves localhost to the server's loopback).
    const link = /^ {2}dashboard +(https:\/\/localhost:\d+\/login\?t=\S+)$/m.exec(demo.lines.join('\n'))?.[1];
    assert.ok(link, `the demo prints a dashboard link:\n${demo.lines.join('\n')}`);
    const ca = curlArgs[curlArgs.indexOf('--cacert') + 1]!;
    const open = () => run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', ca, link!]);
    assert.is((await open()).stdout, '303');
    assert.is((await open()).stdout, '401', 'the link works once');
  } finally {
    assert.is(await demo.stop(), 0, `Ctrl-C stops the demo with exit 0:\n${demo.output()}`);
  }
});

test('a second start reuses the admin operator', async () => {
  const demo = await startDemo();
  assert.is(await demo.stop(), 0, demo.output());
  const ops = await fleetCli(['operator', 'list', '--json', '--data', join(dataDir, 'fleet')]);
  assert.is(ops.code, 0, ops.output);
  assert.equal(
    (JSON.parse(ops.stdout) as { name: string; role: string }[]).map((o) => `${o.name}:${o.role}`),
    ['demo-admin:admin'],
  );
});

test.run();
