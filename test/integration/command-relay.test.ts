// Commands through the whole fleet: `fleet cmd send` signs with an operator key on the operator's machine, the
// fleet server queues and relays the exact signed bytes, the real agent checks and runs them, and the acks
// close the command. The queue survives a server restart; a server with a stolen database cannot forge one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createAgent, createFakePlatform, type Agent, type FakePlatform } from '../../agent/src/index.js';
import { createCommandStore } from '../../broker/src/db/commands.js';
import { generateKeyPair } from '../../shared/src/index.js';
import { newCommandBody, signCommand } from '../../shared/src/commands/index.js';
import { createTestFleet, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';
import { fleetCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
let agent: Agent | undefined;
const platform: FakePlatform = createFakePlatform(7);
const keys = tmpDir();
const opKey = join(keys, 'operator.key');

test.before(async () => {
  fleet = await createTestFleet(['gw-cmd']);
  await fleet.start();
});
test.after(async () => {
  await agent?.close();
  await fleet.close();
});

const startAgent = () =>
  createAgent({
    config: fleet.agentConfig('gw-cmd', {
      telemetryIntervalSeconds: 3600,
      operators: [{ name: 'ops', publicKey: `${opKey}.pub`, allow: ['set-relay', 'set-telemetry-interval'] }],
    }),
    platform,
    log: testLogger(),
  });

const send = (args: string[]) => fleetCli(['cmd', 'send', 'gw-cmd', ...args, '--key', opKey, '--data', fleet.dataDir]);
const acks = (reason: string) =>
  fleet.db
    .prepare(`SELECT count(*) FROM command_acks WHERE device_id = 'gw-cmd' AND reason = ?`)
    .pluck()
    .get(reason) as number;

test('fleet operator-key create writes the private key 0600 and the public key beside it', async () => {
  const r = await fleetCli(['operator-key', 'create', '--out', opKey, '--name', 'ops']);
  assert.is(r.code, 0, r.output);
  assert.is((statSync(opKey).mode & 0o777).toString(8), '600');
  assert.match(r.stdout, /"operators": \[/);
  agent = await startAgent();
  await waitFor(() => agent!.connected, 'agent connected');
});

test('fleet cmd send --wait: signed, relayed, executed, acknowledged (exit 0)', async () => {
  const r = await send(['set-relay', '--param', 'channel=2', '--param', 'state=on', '--wait', '15s', '--json']);
  assert.is(r.code, 0, r.output);
  assert.is(JSON.parse(r.stdout).status, 'done');
  assert.ok(platform.calls.includes('setRelay 2 on'));
});

test('invalid parameters are refused before signing (exit 2), nothing is queued', async () => {
  const before = createCommandStore(fleet.db).list('gw-cmd').length;
  for (const params of [
    ['channel=9', 'state=on'],
    ['channel=1', 'state=maybe'],
    ['channel=NaN', 'state=on'],
    ['channel=1'],
    ['channel=1', 'state=on', 'extra=1'],
  ]) {
    const r = await send(['set-relay', ...params.flatMap((p) => ['--param', p])]);
    assert.is(r.code, 2, `${params.join(' ')}: ${r.output}`);
  }
  assert.is((await send(['self-destruct'])).code, 2);
  assert.is(createCommandStore(fleet.db).list('gw-cmd').length, before);
});

test('a command the key is not allowed is rejected by the device (exit 1, not-allowed)', async () => {
  const r = await send(['reboot', '--wait', '15s', '--json']);
  assert.is(r.code, 1, r.output);
  assert.equal([JSON.parse(r.stdout).status, JSON.parse(r.stdout).reason], ['rejected', 'not-allowed']);
  assert.not.ok(platform.calls.includes('reboot'));
});

test('a command queued while the device is offline survives a server restart and runs on reconnect', async () => {
  await agent!.close();
  const r = await send(['set-relay', '--param', 'channel=5', '--param', 'state=on', '--json']);
  assert.is(r.code, 0);
  const id = JSON.parse(r.stdout).id as string;
  const port = fleet.server.mqttPort;
  await fleet.server.close();
  await fleet.start({ mqttPort: port });
  agent = await startAgent();
  await waitFor(
    () => createCommandStore(fleet.db).get(id)?.status === 'done',
    'the queued command done after the restart',
  );
  assert.ok(platform.calls.includes('setRelay 5 on'));
});

test('a stolen server cannot command devices: forged and replayed envelopes in the queue are refused', async () => {
  const store = createCommandStore(fleet.db);
  const now = Date.now();
  const add = (id: string, envelope: Buffer) =>
    store.add({
      id,
      deviceId: 'gw-cmd',
      command: 'set-relay',
      params: {},
      operator: 'intruder',
      counter: 1,
      envelope,
      createdAt: now,
      expiresAt: now + 60_000,
    });
  const intruder = generateKeyPair();
  add(
    'forged-0001',
    signCommand(
      newCommandBody({
        deviceId: 'gw-cmd',
        command: 'set-relay',
        params: { channel: 7, state: 'on' },
        counter: 10_000,
      }),
      intruder.secretKey,
    ),
  );
  const executed = store.list('gw-cmd').find((c) => c.status === 'done')!;
  const original = fleet.db.prepare('SELECT envelope FROM commands WHERE id = ?').pluck().get(executed.id) as Buffer;
  add('replay-0001', original);
  await waitFor(() => acks('unknown-key') >= 1 && acks('replay') >= 1, 'both refused by the device');
  assert.not.ok(platform.calls.includes('setRelay 7 on'));
  assert.is(platform.calls.filter((c) => c === 'setRelay 2 on').length, 1, 'the replayed command did not run twice');
});

test('fleet cmd list shows commands and their status', async () => {
  const r = await fleetCli(['cmd', 'list', '--data', fleet.dataDir, '--device', 'gw-cmd', '--json']);
  const rows = JSON.parse(r.stdout) as { status: string }[];
  assert.ok(rows.some((x) => x.status === 'done'));
  assert.ok(rows.some((x) => x.status === 'rejected'));
});

test.run();
