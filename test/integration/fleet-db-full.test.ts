// A full disk under the fleet database, on a small tmpfs mounted by the test (root only; skipped with a SKIP line
// where mounting is not permitted): `fleet serve` refuses to start with FLEET_DB_FULL; a running server stops
// acknowledging while the disk is full, logs the code, keeps running, and stores again once space is freed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type mqtt from 'mqtt';
import { createLogger, deviceTopic, encodeMessage } from '../../shared/src/index.js';
import { createFleetServer } from '../../broker/src/server.js';
import { hasStackTrace } from '../helpers/broken-db.js';
import { fillDisk, mountTmpfs, unmountAll } from '../helpers/mounts.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { freePort } from '../helpers/mosquitto.js';
import { fleetCli } from '../helpers/run.js';

let fleet: TestFleet;
let disk: { dir: string } | undefined;

test.before(async () => {
  const m = mountTmpfs('size=6m');
  if ('skip' in m) console.log(`SKIP fleet-db-full: ${m.skip}`);
  else disk = m;
  fleet = await createTestFleet(['gw-001']);
  await fleet.close();
});
test.after(() => unmountAll());

test('serve on a full disk: refused with FLEET_DB_FULL, exit 1, no stack trace', async () => {
  if (!disk) return;
  const dataDir = join(disk.dir, 'start');
  cpSync(fleet.dataDir, dataDir, { recursive: true });
  const filler = join(disk.dir, 'filler-start');
  fillDisk(filler);
  try {
    const ports = [
      '--mqtt-port',
      String(await freePort()),
      '--http-port',
      String(await freePort()),
      '--download-port',
      String(await freePort()),
    ];
    const r = await fleetCli(['serve', '--data', dataDir, ...ports], { timeoutMs: 60_000 });
    assert.is(r.code, 1, r.output);
    assert.match(r.stderr, /^error FLEET_DB_FULL: .*the disk is full/m);
    assert.not.match(r.output, /listening/);
    assert.not.ok(hasStackTrace(r.output), r.output);
  } finally {
    for (const f of [filler, `${filler}.tail`]) rmSync(f, { force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the disk fills while serving: no PUBACK for what is not stored, FLEET_DB_FULL, stored once freed', async () => {
  if (!disk) return;
  const dataDir = join(disk.dir, 'run');
  cpSync(fleet.dataDir, dataDir, { recursive: true });
  const lines: string[] = [];
  let fatal: unknown;
  const server = await createFleetServer({
    dataDir,
    mqttPort: 0,
    httpPort: 0,
    downloadPort: 0,
    log: createLogger({ write: (l) => void lines.push(l), level: 'warn' }),
    onFatal: (err) => (fatal = err),
  });
  const filler = join(disk.dir, 'filler-run');
  const connect = () => fleet.connect('gw-001', { url: `mqtts://127.0.0.1:${server.mqttPort}` });
  /** Each message carries 100 samples (a few pages), so the WAL soon has to grow. */
  const message = (n: number) =>
    encodeMessage({
      v: 1,
      id: `msg-full-${n}`,
      ts: Date.now(),
      stream: 'stream-full',
      samples: Array.from({ length: 100 }, (_, i) => ({
        seq: n * 100 + i,
        ts: Date.now(),
        m: { cpuLoad1: i / 100, memUsed: n * 1000 + i },
      })),
    });
  /** Resolves true on PUBACK, false when the server closes the connection instead (it did not store it). */
  const publish = (client: mqtt.MqttClient, n: number) =>
    Promise.race([
      client.publishAsync(deviceTopic('gw-001', 'telemetry'), message(n), { qos: 1 }).then(() => true),
      new Promise<boolean>((resolve) => client.once('close', () => resolve(false))),
    ]);
  const acked: number[] = [];
  const refused: number[] = [];
  try {
    let device = await connect();
    device.on('error', () => {});
    assert.ok(await publish(device, 1));
    acked.push(1);

    fillDisk(filler);
    for (let n = 2; n <= 400 && refused.length === 0; n++) {
      if (await publish(device, n)) acked.push(n);
      else refused.push(n);
    }
    device.end(true);
    assert.is(refused.length, 1, 'a message was refused once the disk was full');
    assert.ok(
      lines.some((l) => l.includes('"code":"FLEET_DB_FULL"')),
      lines.join(''),
    );
    assert.is(fatal, undefined, 'a full disk does not stop the server');

    // Space freed: the same device is served and stored again; its refused message is resent and stored.
    for (const f of [filler, `${filler}.tail`]) rmSync(f, { force: true });
    device = await connect();
    device.on('error', () => {});
    assert.ok(await publish(device, refused[0]!), 'stored once space is free');
    acked.push(refused[0]!);
    device.end(true);

    const stored = new Set(
      server.db
        .prepare(`SELECT seq FROM telemetry WHERE device_id = 'gw-001' AND stream = 'stream-full'`)
        .pluck()
        .all() as number[],
    );
    for (const n of acked) assert.ok(stored.has(n * 100) && stored.has(n * 100 + 99), `message ${n} acknowledged`);
    assert.is(stored.size, acked.length * 100, 'exactly the acknowledged messages are stored');
  } finally {
    await server.close();
    for (const f of [filler, `${filler}.tail`]) rmSync(f, { force: true });
  }
});

test.run();
