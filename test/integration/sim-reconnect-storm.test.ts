// reconnect-storm: the whole fleet loses its connections at once — cut at the simulator's loopback proxy, or the
// fleet server restarted — and every device comes back without losing a sample.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSimulator } from '../../simulator/src/index.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet();
  await fleet.start();
});
test.after(async () => fleet?.close());

const base = () => ({
  server: fleet.url(),
  serverApi: `https://127.0.0.1:${fleet.server.httpPort}`,
  dataDir: fleet.dataDir,
  telemetryIntervalSeconds: 1,
  rampPerSecond: 500,
  workers: 0,
  // Quicker than a gateway's defaults (1 s … 120 s), so that a test storm settles in seconds.
  reconnect: { minSeconds: 0.2, maxSeconds: 1 },
  exposureEveryMs: 0,
});

test('proxy cut: 150 devices all come back, zero loss, resent samples stored once', async () => {
  const r = await (
    await createSimulator({ ...base(), devices: 150, scenario: 'reconnect-storm', durationMs: 4000, outageMs: 1000 })
  ).done;
  assert.ok(r.ok, JSON.stringify(r.invariants));
  assert.is(r.lost, 0);
  assert.is(r.messagesStored, r.messagesSent);
  assert.ok(typeof r.reconnectSeconds === 'number' && r.reconnectSeconds > 0, `reconnectSeconds ${r.reconnectSeconds}`);
  assert.ok((r.reconnectPeakRate ?? 0) > 0);
  assert.is(r.outageMs, 1000);
  assert.ok(r.disconnects >= 150, `${r.disconnects} disconnects`);
  assert.ok(
    (r.errors['connection-reset'] ?? 0) + (r.errors['connection-refused'] ?? 0) > 0,
    'the proxy refused during the outage',
  );
});

test('server restart: 60 devices all come back, zero loss', async () => {
  const { mqttPort, httpPort } = fleet.server;
  const r = await (
    await createSimulator({
      ...base(),
      devices: 60,
      prefix: 'rs-',
      scenario: 'reconnect-storm',
      stormMode: 'restart',
      durationMs: 3000,
      restartServer: async () => {
        await fleet.server.close();
        await fleet.start({ mqttPort, httpPort });
      },
    })
  ).done;
  assert.ok(r.ok, JSON.stringify(r.invariants));
  assert.is(r.lost, 0);
  assert.ok(typeof r.reconnectSeconds === 'number');
  assert.is(r.outageMs, 0);
});

test.run();
