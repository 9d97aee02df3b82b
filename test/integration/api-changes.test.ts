import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { newCommandBody, signCommand } from '../../shared/src/commands/index.js';
import { deviceTopic, parsePrivateKeyPem } from '../../shared/src/index.js';
import type { ApiClient } from '../../broker/src/admin/api-client.js';
import { createTestFleet, type TestFleet, waitFor } from '../helpers/fleet.js';
import { addOperator, apiClientFor, type TestOperator } from '../helpers/operators.js';

let fleet: TestFleet;
let op: TestOperator;
let api: ApiClient;

test.before(async () => {
  fleet = await createTestFleet(['gw-live', 'gw-cmd']);
  await fleet.start();
  op = await addOperator(fleet.db, 'carol', 'admin');
  api = apiClientFor(fleet.dataDir, fleet.server.httpPort, { credential: op.credential });
});

test.after(async () => {
  api.close();
  await fleet.close();
});

const connect = (id: string) => fleet.connect(id);

test('a device revoked through the API loses its session at once, with nothing else written', async () => {
  const client = await connect('gw-live');
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  await api.call('POST', '/api/v1/devices/gw-live/revoke');
  await Promise.race([
    closed,
    new Promise((_, reject) => setTimeout(() => reject(new Error('the session outlived the revocation')), 3000)),
  ]);
  client.end(true);
});

test('a command submitted through the API reaches the connected device at once', async () => {
  const client = await connect('gw-cmd');
  const received: Buffer[] = [];
  client.on('message', (_topic, payload) => received.push(payload));
  await client.subscribeAsync(deviceTopic('gw-cmd', 'cmd'), { qos: 1 });
  const { counter } = await api.call<{ counter: number }>('POST', '/api/v1/commands/counter');
  const envelope = signCommand(
    newCommandBody({ deviceId: 'gw-cmd', command: 'reboot', params: {}, counter }),
    parsePrivateKeyPem(op.credential).secretKey,
  );
  await api.call('POST', '/api/v1/devices/gw-cmd/commands', { envelope: envelope.toString('base64') });
  await waitFor(() => received.length > 0, 'the command relayed', 3000);
  assert.ok(received[0]!.equals(envelope), 'the exact signed bytes');
  await client.endAsync();
});

test.run();
