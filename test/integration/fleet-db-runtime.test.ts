// The database damaged under a running `fleet serve`: the first write that meets the damage stops acknowledging,
// logs a coded error, and the server stops cleanly with exit 1 — no PUBACK for what was not stored, no stack trace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { deviceTopic, encodeMessage } from '../../shared/src/index.js';
import { corruptPages, hasStackTrace, pagesOf, populatedFleet } from '../helpers/broken-db.js';
import { waitFor } from '../helpers/fleet.js';
import { waitForPort } from '../helpers/mosquitto.js';
import { startServeSource } from '../helpers/run.js';

test('telemetry pages damaged while serving: no PUBACK, FLEET_DB_CORRUPT logged, exit 1', async () => {
  const fleet = await populatedFleet(['gw-001']);
  const pages = pagesOf(fleet.db, ['telemetry', 'telemetry_keys']);
  await fleet.close();

  const serve = await startServeSource(fleet.dataDir);
  const { child, mqttPort, exited } = serve;
  const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
  try {
    await waitForPort(mqttPort, 60_000);
    const device = await fleet.connect('gw-001', { url: `mqtts://127.0.0.1:${mqttPort}` });
    let pubacks = 0;
    device.on('packetreceive', (p) => void (p.cmd === 'puback' && pubacks++));
    device.on('error', () => {});

    // The server passed its start-up check; now the telemetry table and its keys are damaged under it.
    corruptPages(join(fleet.dataDir, 'fleet.db'), pages);
    for (let i = 1; i <= 20; i++) {
      const seq = 10_000 + i;
      device.publish(
        deviceTopic('gw-001', 'telemetry'),
        encodeMessage({
          v: 1,
          id: `msg-${seq}`,
          ts: Date.now(),
          stream: 'stream-01',
          samples: [{ seq, ts: Date.now(), m: { cpuLoad1: 0.5 } }],
        }),
        { qos: 1 },
      );
    }
    const code = await exited;
    const stderr = serve.stderr();
    device.end(true);
    assert.is(code, 1, stderr);
    assert.is(pubacks, 0, 'nothing was stored, so nothing was acknowledged');
    assert.match(stderr, /^error FLEET_DB_CORRUPT: .*fleet\.db is damaged/m);
    const logged = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; msg: string; code?: string });
    assert.ok(
      logged.some((l) => l.level === 'error' && l.code === 'FLEET_DB_CORRUPT'),
      'a coded error is logged',
    );
    assert.ok(
      logged.some((l) => l.msg === 'fleet server stopped'),
      'the server stopped cleanly',
    );
    assert.not.ok(hasStackTrace(stderr), stderr);
  } finally {
    clearTimeout(kill);
    if (child.exitCode === null) child.kill('SIGKILL');
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, 'serve exited');
  }
});

test.run();
