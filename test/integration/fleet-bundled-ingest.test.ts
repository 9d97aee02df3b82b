// The bundled `fleet serve` (dist/fleet.js, as installed) stores device messages on its ingest thread, which is a
// bundle of its own (dist/ingest-thread.js, found beside fleet.js): a path the tests of the sources cannot reach.
// Built here into a folder of its own from the current source.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../shared/src/index.js';
import { bundleClis } from '../helpers/cli-cases.js';
import { createTestFleet, type TestFleet, waitFor } from '../helpers/fleet.js';
import { freePort, waitForPort } from '../helpers/mosquitto.js';

let fleet: TestFleet;
let bundles: string;

test.before(async () => {
  bundles = bundleClis();
  fleet = await createTestFleet(['gw-001']);
});
test.after(async () => {
  await fleet.close();
});

/** Starts the bundled fleet serve on the test fleet; stderr collects its log. */
async function serve(extra: string[] = []): Promise<{ child: ChildProcess; port: number; log: () => string }> {
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const args = ['serve', '--data', fleet.dataDir, '--mqtt-port', String(mqttPort), '--http-port', String(httpPort)];
  const child = spawn(process.execPath, [join(bundles, 'fleet.js'), ...args, '--log-level', 'debug', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  await waitForPort(mqttPort);
  return { child, port: mqttPort, log: () => stderr };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

test('the bundled server stores telemetry on its ingest thread (dist/ingest-thread.js), not the fallback', async () => {
  const server = await serve();
  try {
    const device = await mqtt.connectAsync(`mqtts://127.0.0.1:${server.port}`, {
      clientId: 'gw-001',
      ...fleet.credentials('gw-001'),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    const payload = encodeMessage({
      v: 1,
      id: 'msg-bundled-0001',
      ts: Date.now(),
      stream: 'stream-bundled',
      samples: [{ seq: 1, ts: Date.now(), m: { t: 1 } }],
    });
    await device.publishAsync('fleet/v1/gw-001/telemetry', payload, { qos: 1 }); // PUBACK: committed
    await device.endAsync(true);
    assert.is(
      fleet.db.prepare(`SELECT count(*) FROM telemetry WHERE stream = 'stream-bundled'`).pluck().get(),
      1,
      server.log(),
    );
    await waitFor(() => server.log().includes('device connected'), 'the log');
    assert.not.match(server.log(), /ingest thread did not start/);
    assert.not.match(server.log(), /"level":"error"/, server.log());
  } finally {
    await stop(server.child);
  }
});

test.run();
