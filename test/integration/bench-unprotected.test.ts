// Protections can be turned off only by the benchmark's own entry point: `fleet serve` ignores the environment
// variable that used to be its back door (EDGEWARD_BENCH_UNPROTECTED), and bench/broker-throughput still runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type mqtt from 'mqtt';
import { buildUnprotectedServer } from '../../bench/lib/unprotected-build.js';
import { deviceTopic } from '../../shared/src/index.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { freePort, waitForPort } from '../helpers/mosquitto.js';
import { run } from '../helpers/run.js';

let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet(['gw-001', 'gw-002']);
});
test.after(async () => {
  await fleet.close();
});

/** The return code of a one-filter SUBACK: the QoS granted, or 0x80 (MQTT.js turns a refusal into an error). */
async function subackCode(client: mqtt.MqttClient, filter: string): Promise<number> {
  try {
    return (await client.subscribeAsync(filter, { qos: 1 }))[0]!.qos;
  } catch (err) {
    const granted = (err as { packet?: { granted?: unknown[] } }).packet?.granted;
    if (granted?.[0] === 0x80) return 0x80;
    throw err;
  }
}

/**
 * Starts a server process on the test fleet's folder, lets gw-001 ask for gw-002's commands (which the ACL refuses),
 * and returns the QoS granted (128: refused) and what the server logged.
 */
async function foreignSubscription(args: string[], env: NodeJS.ProcessEnv): Promise<{ qos: number; log: string }> {
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      ...args,
      '--data',
      fleet.dataDir,
      '--mqtt-port',
      String(mqttPort),
      '--http-port',
      String(httpPort),
      '--download-port',
      String(await freePort()),
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitForPort(mqttPort);
    const device = await fleet.connect('gw-001', { url: `mqtts://127.0.0.1:${mqttPort}` });
    const qos = await subackCode(device, deviceTopic('gw-002', 'cmd'));
    await device.endAsync();
    return { qos, log };
  } finally {
    child.kill('SIGTERM');
    assert.is(await exited, 0, log);
  }
}

test('fleet serve keeps its ACL with EDGEWARD_BENCH_UNPROTECTED=1 in its environment', async () => {
  const { qos, log } = await foreignSubscription(['--import', 'tsx', 'broker/src/main.ts', 'serve'], {
    EDGEWARD_BENCH_UNPROTECTED: '1',
  });
  assert.is(qos, 128, 'fleet serve granted another device’s commands: its protections were turned off');
  assert.not.match(log, /PROTECTIONS OFF/);
});

test('the benchmark’s own server (bench/lib/unprotected-server.ts, bundled by the bench) has them off', async () => {
  const entry = await buildUnprotectedServer();
  const { qos } = await foreignSubscription([entry], {});
  assert.is(qos, 1, 'the unprotected server measures the broker without its ACL');
});

test('no fleet server source reads the old environment variable', () => {
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  const readers = [...sources('broker/src'), ...sources('shared/src')].filter((f) =>
    readFileSync(f, 'utf8').includes('EDGEWARD_BENCH'),
  );
  assert.equal(readers, []);
});

test('bench/broker-throughput.ts --help runs', async () => {
  const r = await run(process.execPath, ['--import', 'tsx', 'bench/broker-throughput.ts', '--help']);
  assert.is(r.code, 0, r.output);
  assert.match(r.stdout, /--only unsealed,protected,at-rest,unprotected,mosquitto/);
});

test.run();
