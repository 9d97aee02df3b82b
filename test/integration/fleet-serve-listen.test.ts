// `fleet serve` when a port cannot be opened: it exits 1 with FLEET_LISTEN (nothing it started keeps it alive),
// a port out of range is a usage error (exit 2), and in-process the data folder is free again afterwards. Port 0
// lets the kernel choose, and the listening log names the ports taken.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createFleetServer } from '../../broker/src/server.js';
import { createTestFleet, testLogger, type TestFleet } from '../helpers/fleet.js';
import { freePort, waitForPort } from '../helpers/mosquitto.js';
import { cliArgs, fleetCli } from '../helpers/run.js';

let fleet: TestFleet;
let busy: Server;
let busyPort: number;

test.before(async () => {
  fleet = await createTestFleet([]);
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as { port: number }).port;
});
test.after(async () => {
  busy.close();
  await fleet.close();
});

/** Runs `fleet serve`; a process still running after 20 s is killed and reported as a hang (code null). */
async function serve(args: string[]) {
  const http = ['--http-port', String(await freePort()), '--download-port', String(await freePort())];
  const r = await fleetCli(['serve', '--data', fleet.dataDir, ...http, ...args], { timeoutMs: 20_000 });
  return { code: r.code, errorLine: r.stderr.split('\n').find((l) => /^(error [A-Z_]+:|usage error:)/.test(l)) };
}

const failures: [string, () => string[], RegExp][] = [
  ['the MQTT port is in use', () => ['--mqtt-port', String(busyPort)], /^error FLEET_LISTEN: .*MQTT.*EADDRINUSE/],
  ['--host is not an address of this machine', () => ['--host', '8.8.8.8'], /^error FLEET_LISTEN: .*EADDRNOTAVAIL/],
  ['--host does not resolve', () => ['--host', 'no-such-host.invalid'], /^error FLEET_LISTEN: .*(ENOTFOUND|EAI_AGAIN)/],
  ['the HTTPS port is in use', () => ['--http-port', String(busyPort)], /^error FLEET_LISTEN: .*HTTPS.*EADDRINUSE/],
];

for (const [name, args, line] of failures) {
  test(`${name}: exit 1 with FLEET_LISTEN, no hang`, async () => {
    const mqttPort = ['--mqtt-port', String(await freePort())];
    const r = await serve([...mqttPort, ...args()]);
    assert.is(r.code, 1, `exit ${r.code} (null: still running after 20 s)`);
    assert.match(r.errorLine ?? '', line);
  });
}

for (const [flag, value] of [
  ['--mqtt-port', '65536'],
  ['--http-port', '-1'],
  ['--http-port', '8443x'],
] as const) {
  test(`${flag} ${value}: usage error, exit 2`, async () => {
    const r = await serve([flag, value]);
    assert.is(r.code, 2);
    assert.match(r.errorLine ?? '', new RegExp(`^usage error: ${flag} must be a port number from 0 to 65535`));
  });
}

const PORTS_0 = ['--mqtt-port', '0', '--http-port', '0', '--download-port', '0'];

test('port 0 everywhere: the kernel chooses, and the listening log names the ports, which answer', async () => {
  const child = spawn(
    process.execPath,
    [...cliArgs('broker/src/main.ts'), 'serve', '--data', fleet.dataDir, '--log-level', 'info', ...PORTS_0],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    const deadline = Date.now() + 20_000;
    while (!stderr.includes('fleet server listening') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const line = JSON.parse(stderr.split('\n').find((l) => l.includes('fleet server listening')) ?? 'null') as {
      mqtt: string;
      https: string;
      downloads: string;
    } | null;
    assert.ok(line, `no listening line: ${stderr.slice(-1000)}`);
    const ports = [line.mqtt, line.https, line.downloads].map((u) => Number(new URL(u).port));
    for (const port of ports) assert.ok(port > 0, `a real port, got ${port}`);
    assert.is(new Set(ports).size, 3);
    for (const port of ports) await waitForPort(port, 2000);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

test('in-process: a port out of range is FLEET_LISTEN, and the data folder is free again afterwards', async () => {
  for (const [mqttPort, httpPort] of [
    [65536, 0],
    [0, 70000],
    [busyPort, 0],
  ] as const) {
    try {
      await createFleetServer({
        dataDir: fleet.dataDir,
        host: '127.0.0.1',
        mqttPort,
        httpPort,
        downloadPort: 0,
        log: testLogger(),
      });
      assert.unreachable('the server started');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'FLEET_LISTEN', (err as Error).message);
    }
  }
  const server = await createFleetServer({
    dataDir: fleet.dataDir,
    host: '127.0.0.1',
    mqttPort: 0,
    httpPort: 0,
    downloadPort: 0,
    log: testLogger(),
  });
  await server.close();
});

test.run();
