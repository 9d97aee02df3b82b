// The database damaged under a running `fleet serve`: the first write that meets the damage stops acknowledging,
// logs a coded error, and the server stops cleanly with exit 1 — no PUBACK for what was not stored, no stack trace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { deviceTopic, encodeMessage } from '../../shared/src/index.js';
import { corruptPages, hasStackTrace, pagesOf, populatedFleet } from '../helpers/broken-db.js';
import { waitFor } from '../helpers/fleet.js';
import { freePort, waitForPort } from '../helpers/mosquitto.js';

test('telemetry pages damaged while serving: no PUBACK, FLEET_DB_CORRUPT logged, exit 1', async () => {
  const fleet = await populatedFleet(['gw-001']);
  const pages = pagesOf(fleet.db, ['telemetry', 'telemetry_keys']);
  const credentials = fleet.credentials('gw-001');
  await fleet.close();

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
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
  try {
    await waitForPort(mqttPort, 60_000);
    const device = await mqtt.connectAsync(`mqtts://127.0.0.1:${mqttPort}`, {
      clientId: 'gw-001',
      ...credentials,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
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
