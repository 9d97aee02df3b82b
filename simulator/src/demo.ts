// `fleet-sim demo` (npm start): a fleet server with SQLite and 20 real agents on a fake platform, in one process.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  createLogger,
  encode,
  generateKeyPair,
  parseCli,
  parsePositiveInt,
  privateKeyToPem,
  publicKeyToPem,
  writeFileSafe,
  writeSecret,
} from '../../shared/src/index.js';
import { createAgent, createFakePlatform, parseAgentConfig, type Agent } from '../../agent/src/index.js';
import { sampleReport } from '../../agent/src/scan/index.js';
import {
  createFleetServer,
  createRegistry,
  initPki,
  loadCa,
  openFleetDb,
  provisionDevice,
} from '../../broker/src/index.js';
import { seededRng } from './rng.js';

const HELP = `fleet-sim demo [--data .fleet/demo] [--devices 20] [--mqtt-port 8883] [--http-port 8443] [--interval 5]

Creates a demo fleet folder if absent (fleet CA, server certificate, N devices), starts the fleet server on
loopback and runs N real agents in this process against it, until Ctrl-C. This is what \`npm start\` runs.`;

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    {
      data: { type: 'string' },
      devices: { type: 'string' },
      'mqtt-port': { type: 'string' },
      'http-port': { type: 'string' },
      interval: { type: 'string' },
    },
    HELP,
  );
  const dataDir = resolve(values.data ?? '.fleet/demo');
  const count = parsePositiveInt(values.devices, '--devices', 20);
  const interval = parsePositiveInt(values.interval, '--interval', 5);
  const fleetDir = join(dataDir, 'fleet');
  const devicesDir = join(dataDir, 'devices');
  const say = (line: string) => process.stdout.write(`${line}\n`);

  if (!existsSync(join(fleetDir, 'pki', 'ca.crt'))) {
    say(`creating demo fleet in ${dataDir} …`);
    await initPki(fleetDir);
  }
  const ids = Array.from({ length: count }, (_, i) => `demo-${String(i + 1).padStart(3, '0')}`);
  const db = openFleetDb(fleetDir);
  const registry = createRegistry(db);
  const ca = await loadCa(fleetDir);
  for (const id of ids) if (!registry.exists(id)) await provisionDevice(registry, ca, id, join(devicesDir, id));
  db.close();

  // An operator key the demo agents trust, so signed commands can be tried at once.
  const operatorKey = join(dataDir, 'operator.key');
  if (!existsSync(operatorKey)) {
    const pair = generateKeyPair();
    writeSecret(operatorKey, privateKeyToPem(pair.secretKey));
    writeFileSafe(`${operatorKey}.pub`, publicKeyToPem(pair.publicKey));
  }

  const log = createLogger({ format: 'pretty', level: 'warn', base: { component: 'fleet' } });
  const server = await createFleetServer({
    dataDir: fleetDir,
    mqttPort: parsePositiveInt(values['mqtt-port'], '--mqtt-port', 8883),
    httpPort: parsePositiveInt(values['http-port'], '--http-port', 8443),
    log,
  });
  const agents: Agent[] = [];
  for (const [i, id] of ids.entries()) {
    const d = join(devicesDir, id);
    const config = parseAgentConfig({
      server: `mqtts://127.0.0.1:${server.mqttPort}`,
      deviceId: id,
      cert: join(d, 'device.crt'),
      key: join(d, 'device.key'),
      ca: join(d, 'ca.crt'),
      stateDir: join(d, 'state'),
      telemetryIntervalSeconds: interval,
      operators: [{ name: 'demo-operator', publicKey: `${operatorKey}.pub`, allow: ['*'] }],
    });
    // Each fake gateway reports a realistic exposure scan (the real scanner would probe this machine instead).
    const rng = seededRng(i + 1);
    agents.push(
      await createAgent({
        config,
        platform: createFakePlatform(i + 1),
        log: log.child({ deviceId: id }),
        scanner: async () => encode(sampleReport(id, rng)),
        scanIntervalMs: 3600_000,
      }),
    );
  }

  say('');
  say(`edgeward demo fleet is running: ${count} agents → fleet server (mTLS)`);
  say(`  MQTT (mTLS)   mqtts://127.0.0.1:${server.mqttPort}`);
  say(`  HTTPS         https://127.0.0.1:${server.httpPort}/healthz`);
  say(`  fleet data    ${fleetDir}   (SQLite: ${join(fleetDir, 'fleet.db')})`);
  say(`  device certs  ${devicesDir}/<id>/`);
  say('');
  say('Try, in another terminal:');
  say(`  npx fleet device list --data ${fleetDir}`);
  say(`  npx fleet posture --data ${fleetDir}                    # exposure grades across the fleet`);
  say(`  npx fleet report demo-001 --data ${fleetDir}`);
  say(
    `  npx fleet cmd send demo-001 set-relay --param channel=1 --param state=on --key ${operatorKey} ` +
      `--data ${fleetDir} --wait 10s`,
  );
  say(`  npx fleet audit --data ${fleetDir}`);
  say(`  npx fleet device revoke demo-001 --data ${fleetDir}     # watch it get dropped`);
  say('Ctrl-C stops everything.');
  say('');

  const count$ = server.db.prepare('SELECT count(*) FROM telemetry').pluck();
  // On a terminal one line is redrawn every second; in a log, a line every ten seconds.
  const tty = process.stdout.isTTY === true;
  const ticker = setInterval(
    () => {
      const line =
        `${new Date().toISOString().slice(11, 19)}  devices online ` +
        `${String(server.sessions.size).padStart(3)}/${count}  samples stored ${count$.get()}`;
      process.stdout.write(tty ? `\r${line}   ` : `${line}\n`);
    },
    tty ? 1000 : 10_000,
  );

  await new Promise<void>((res) => {
    process.once('SIGINT', res);
    process.once('SIGTERM', res);
  });
  clearInterval(ticker);
  say('\nstopping …');
  await Promise.all(agents.map((a) => a.close()));
  await server.close();
  return 0;
}
