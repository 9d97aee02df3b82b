// `fleet serve` as a process: JSON-line logs, a device connected, a clean exit on SIGTERM and SIGINT, and one
// server per data folder.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFleetServer } from '../../broker/src/server.js';
import { createTestFleet, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';
import { waitForPort } from '../helpers/mosquitto.js';
import { startServeSource } from '../helpers/run.js';

let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet(['gw-001']);
});
test.after(async () => {
  await fleet.close();
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`fleet serve logs JSON lines and exits 0 on ${signal} with a device connected`, async () => {
    const serve = await startServeSource(fleet.dataDir);
    await waitForPort(serve.mqttPort);
    const device = await fleet.connect('gw-001', { url: `mqtts://127.0.0.1:${serve.mqttPort}` });
    await waitFor(() => serve.stderr().includes('device connected'), 'connection logged');
    serve.child.kill(signal);
    assert.is(await serve.exited, 0);
    device.end(true);
    const lines = serve.stderr().trim().split('\n');
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
    const second = await startServeSource(fleet.dataDir);
    const kill = setTimeout(() => second.child.kill('SIGKILL'), 15_000);
    const code = await second.exited;
    clearTimeout(kill);
    assert.ok(code !== null && code !== 0, `refused with an exit code, not still running: ${code}`);
    assert.match(second.stderr(), /FLEET_DATA_IN_USE/);
    assert.match(second.stderr(), /another fleet server is running on/);
    try {
      await createFleetServer({
        dataDir: fleet.dataDir,
        host: '127.0.0.1',
        mqttPort: 0,
        httpPort: 0,
        downloadPort: 0,
        log: testLogger(),
      });
      assert.unreachable('a second server started');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'FLEET_DATA_IN_USE');
    }
    // The first one still serves; once it stops, the folder is free again.
    const device = await fleet.connect('gw-001');
    await device.endAsync(true);
    await fleet.server.close();
    const again = await createFleetServer({
      dataDir: fleet.dataDir,
      host: '127.0.0.1',
      mqttPort: 0,
      httpPort: 0,
      downloadPort: 0,
      log: testLogger(),
    });
    await again.close();
  },
);

test.run();
