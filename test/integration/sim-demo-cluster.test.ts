// `fleet-sim demo --cluster` as a user meets it: a local cluster (real redis-server, PostgreSQL, two nodes and
// HAProxy) comes up, the demo's agents send through HAProxy into the store, the operator API commands it prints
// work as printed through HAProxy (a signed command the agent runs), and Ctrl-C stops the agents and every part.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { testWithPeers } from '../helpers/peers.js';
import { cliArgs, fleetCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const test = testWithPeers(
  ['redis-server', 'haproxy', 'initdb', 'postgres'],
  'apt-get install -y redis-server haproxy postgresql',
);

const root = tmpDir('edgeward-demo-cluster-');
chmodSync(root, 0o711); // as root, PostgreSQL runs as the postgres user, which must enter the folder
const dir = join(root, 'c');
let child: ChildProcess | undefined;
let out = '';
let exited: Promise<number | null>;

test.after(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGINT');
    await exited;
  }
  await fleetCli(['cluster', 'down', '--data', dir]);
});

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline || child?.exitCode !== null) throw new Error(`${what}; the demo said:\n${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('the demo runs on a local cluster; its printed API command works; Ctrl-C stops every part', async () => {
  child = spawn(
    process.execPath,
    [
      ...cliArgs('simulator/src/main.ts'),
      'demo',
      '--cluster',
      '--nodes',
      '2',
      '--devices',
      '2',
      '--interval',
      '1',
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      '--data',
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  exited = new Promise((resolve) => child!.on('close', (code) => resolve(code)));
  await until('the demo did not start', () => out.includes('Ctrl-C stops the agents and the cluster.'), 180_000);
  assert.match(out, /2 agents → HAProxy → 2 fleet server nodes/);
  // The ticker reads the store: both agents online, samples stored.
  await until('no samples in the store', () => /devices online\s+2\/2\s+samples stored [1-9]/.test(out), 60_000);

  // The command line as printed, through HAProxy's API front.
  const line = out.split('\n').find((l) => l.includes('fleet cmd send'));
  assert.ok(line, out);
  const args = line
    .trim()
    .replace(/^npx fleet /, '')
    .split(/\s+/);
  const sent = await fleetCli(args, { timeoutMs: 60_000 });
  assert.is(sent.code, 0, sent.output);
  assert.match(sent.stdout, /set-relay\s+done/);

  child.kill('SIGINT');
  assert.is(await exited, 0, out);
  assert.match(out, /stopping the cluster/);
  const status = await fleetCli(['cluster', 'status', '--data', dir, '--json']);
  const parts = (JSON.parse(status.stdout) as { parts: { name: string; alive: boolean }[] }).parts;
  assert.ok(
    parts.every((p) => !p.alive),
    status.stdout,
  );
});

test.run();
