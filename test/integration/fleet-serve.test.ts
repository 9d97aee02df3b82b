// `fleet serve` as a process: JSON-line logs, a device connected, a clean exit on SIGTERM and SIGINT, and one
// server per data folder.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { createFleetServer } from '../../broker/src/server.js';
import { createTestFleet, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';
import { freePort, waitForPort } from '../helpers/mosquitto.js';

let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet(['gw-001']);
});
test.after(async () => {
  await fleet.close();
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`fleet serve logs JSON lines and exits 0 on ${signal} with a device connected`, async () => {
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'broker/src/main.ts',
        'serve',
        '--data',
        fleet.dataDir,
        '--mqtt-port',
        String(mqttPort),
        '--http-port',
        String(httpPort),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitForPort(mqttPort);
    const device = await mqtt.connectAsync(`mqtts://127.0.0.1:${mqttPort}`, {
      clientId: 'gw-001',
      ...fleet.credentials('gw-001'),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    await waitFor(() => stderr.includes('device connected'), 'connection logged');
    child.kill(signal);
    assert.is(await exited, 0);
    device.end(true);
    const lines = stderr.trim().split('\n');
    for (const line of lines) {
      const rec = JSON.parse(line) as { time: string; level: string; msg: string };
      assert.ok(rec.time && rec.level && rec.msg, line);
    }
    assert.ok(lines.some((l) => l.includes('fleet server stopped')));
  });
}

test(
  'one server per data folder: a second is refused (FLEET_DATA_IN_USE), in another process ' + 'or this one',
  async () => {
    await fleet.start();
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'broker/src/main.ts',
        'serve',
        '--data',
        fleet.dataDir,
        '--mqtt-port',
        String(mqttPort),
        '--http-port',
        String(httpPort),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null | 'still running'>((resolve) => {
      const t = setTimeout(() => (child.kill('SIGKILL'), resolve('still running')), 15_000);
      child.on('exit', (c) => (clearTimeout(t), resolve(c)));
    });
    assert.is.not(code, 'still running');
    assert.is.not(code, 0);
    assert.match(stderr, /FLEET_DATA_IN_USE/);
    assert.match(stderr, /another fleet server is running on/);
    try {
      await createFleetServer({
        dataDir: fleet.dataDir,
        host: '127.0.0.1',
        mqttPort: 0,
        httpPort: 0,
        log: testLogger(),
      });
      assert.unreachable('a second server started');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'FLEET_DATA_IN_USE');
    }
    // The first one still serves; once it stops, the folder is free again.
    const device = await mqtt.connectAsync(`mqtts://127.0.0.1:${fleet.server.mqttPort}`, {
      clientId: 'gw-001',
      ...fleet.credentials('gw-001'),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    await device.endAsync(true);
    await fleet.server.close();
    const again = await createFleetServer({
      dataDir: fleet.dataDir,
      host: '127.0.0.1',
      mqttPort: 0,
      httpPort: 0,
      log: testLogger(),
    });
    await again.close();
  },
);

test.run();
