// `fleet-sim demo` (npm start): a fleet server with SQLite and 20 real agents on a fake platform, in one process,
// and an admin operator whose credential is also the key the agents trust for commands, to try the operator API.
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import {
  createLogger,
  generateKeyPair,
  keyId,
  parseCli,
  parsePort,
  parsePositiveInt,
  parsePrivateKeyPem,
  privateKeyToPem,
  publicKeyToPem,
  readRegularText,
  UsageError,
  writeFileSafe,
  writeSecret,
} from '../../shared/src/index.js';
import {
  createFleetServer,
  createRegistry,
  initPki,
  loadCa,
  openFleetDb,
  provisionDevice,
} from '../../broker/src/index.js';
import { createCliAdmin } from '../../broker/src/admin/cli-admin.js';
import { localActor } from '../../broker/src/cli/target.js';
import { clusterDemo } from './demo-cluster.js';
import { startDemoAgents, statusUntilStopped } from './demo-agents.js';

/** The demo's admin operator: its credential is the operator key the demo agents trust. */
const DEMO_ADMIN = 'demo-admin';

const HELP = `fleet-sim demo [--data .fleet/demo] [--devices 20] [--mqtt-port 8883] [--http-port 8443]
                [--download-port 8444] [--interval 5]
       fleet-sim demo --cluster [--nodes 3] [--data .fleet/demo-cluster] [--devices 20] [--mqtt-port 8883]
                [--http-port 8443] [--interval 5]

Creates a demo fleet folder if absent (fleet CA, server certificate, N devices, an admin operator whose credential
DIR/operator.key also signs the commands the agents trust), starts the fleet server on loopback and runs N real
agents in this process against it, until Ctrl-C. This is what \`npm start\` runs.

--cluster runs the same on a local cluster instead (\`fleet cluster up\`: redis-server, PostgreSQL, --nodes fleet
server nodes and HAProxy, from Debian's packages; docs/cluster.md): the agents connect through HAProxy, whose MQTT
and API fronts take --mqtt-port and --http-port; Ctrl-C stops the agents and the cluster.`;

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    {
      data: { type: 'string' },
      devices: { type: 'string' },
      'mqtt-port': { type: 'string' },
      'http-port': { type: 'string' },
      'download-port': { type: 'string' },
      interval: { type: 'string' },
      cluster: { type: 'boolean' },
      nodes: { type: 'string' },
    },
    HELP,
  );
  if (values.cluster) {
    return clusterDemo({
      dir: resolve(values.data ?? '.fleet/demo-cluster'),
      nodes: parsePositiveInt(values.nodes, '--nodes', 3),
      devices: parsePositiveInt(values.devices, '--devices', 20),
      interval: parsePositiveInt(values.interval, '--interval', 5),
      mqttPort: parsePort(values['mqtt-port'], '--mqtt-port', 8883, true),
      apiPort: parsePort(values['http-port'], '--http-port', 8443, true),
    });
  }
  if (values.nodes !== undefined) throw new UsageError('--nodes goes with --cluster');
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

  // An operator key the demo agents trust, so signed commands can be tried at once; registered as the admin
  // operator, it is also the credential for the operator API.
  const operatorKey = join(dataDir, 'operator.key');
  if (!existsSync(operatorKey)) {
    const pair = generateKeyPair();
    writeSecret(operatorKey, privateKeyToPem(pair.secretKey));
    writeFileSafe(`${operatorKey}.pub`, publicKeyToPem(pair.publicKey));
  }
  const admin = await ensureDemoAdmin(fleetDir, operatorKey);

  const log = createLogger({ format: 'pretty', level: 'warn', base: { component: 'fleet' } });
  const server = await createFleetServer({
    dataDir: fleetDir,
    mqttPort: parsePositiveInt(values['mqtt-port'], '--mqtt-port', 8883),
    httpPort: parsePositiveInt(values['http-port'], '--http-port', 8443),
    downloadPort: parsePositiveInt(values['download-port'], '--download-port', 8444),
    log,
  });
  const agents = await startDemoAgents({
    ids,
    dirOf: (id) => join(devicesDir, id),
    server: `mqtts://127.0.0.1:${server.mqttPort}`,
    operatorPub: `${operatorKey}.pub`,
    interval,
    log,
  });

  // A one-time link to the dashboard for the demo's admin (it works once, for five minutes; the line after it says
  // how to get another).
  const dashboardPath = admin ? await dashboardLink(fleetDir, admin) : null;
  for (const line of demoLines({
    count,
    dashboardPath,
    mqttPort: server.mqttPort,
    httpPort: server.httpPort,
    fleetDir,
    devicesDir,
    operatorKey,
    admin,
  }))
    say(line);

  const count$ = server.db.prepare('SELECT count(*) FROM telemetry').pluck();
  await statusUntilStopped(count, async () => ({ online: server.sessions.size, samples: count$.get() as number }), log);
  say('\nstopping …');
  await Promise.all(agents.map((a) => a.close()));
  await server.close();
  return 0;
}

/**
 * Registers the demo's operator key as the admin operator if it is not registered yet; the operator's name, or
 * null when an operator revoked it (the API lines are left out then).
 */
async function ensureDemoAdmin(fleetDir: string, operatorKey: string): Promise<string | null> {
  const pair = parsePrivateKeyPem(readRegularText(operatorKey, { maxBytes: 16 * 1024 }), operatorKey);
  const kid = keyId(pair.publicKey);
  const admin = createCliAdmin(fleetDir, localActor());
  try {
    const operators = await admin.operators.list();
    const mine = operators.find((op) => op.kid === kid);
    if (mine) return mine.status === 'active' ? mine.name : null;
    const name = operators.some((op) => op.name === DEMO_ADMIN) ? `${DEMO_ADMIN}-${kid}` : DEMO_ADMIN;
    await admin.operators.add({ name, role: 'admin', publicKey: publicKeyToPem(pair.publicKey) });
    return name;
  } finally {
    admin.close();
  }
}

async function dashboardLink(fleetDir: string, operator: string): Promise<string> {
  const cli = createCliAdmin(fleetDir, localActor());
  try {
    return (await cli.dashboard.link(operator)).path;
  } finally {
    cli.close();
  }
}

/** A path as short as it can be said from here: relative when it is under the working folder. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** What the demo prints once the fleet runs: where things are, then commands to try on the folder and the API. */
function demoLines(d: {
  count: number;
  mqttPort: number;
  httpPort: number;
  fleetDir: string;
  devicesDir: string;
  operatorKey: string;
  admin: string | null;
  dashboardPath: string | null;
}): string[] {
  const data = `--data ${shown(d.fleetDir)}`;
  const url = `https://127.0.0.1:${d.httpPort}`;
  const ca = shown(join(d.fleetDir, 'pki', 'ca.crt'));
  const api = `--server ${url} --ca ${ca} --credential ${shown(d.operatorKey)}`;
  const relay = 'cmd send demo-001 set-relay --param channel=1 --param state=on --wait 10s';
  return [
    '',
    `edgeward demo fleet is running: ${d.count} agents → fleet server (mTLS)`,
    `  MQTT (mTLS)    mqtts://127.0.0.1:${d.mqttPort}`,
    `  HTTPS          ${url}/healthz, operator API ${url}/api/v1 (docs/operator-api.md)`,
    ...(d.admin && d.dashboardPath
      ? [
          `  dashboard      https://localhost:${d.httpPort}${d.dashboardPath}`,
          `                 (one-time, 5 min; the browser must trust ${ca}; another: npx fleet dashboard link ` +
            `${data} --operator ${d.admin} --url https://localhost:${d.httpPort})`,
        ]
      : []),
    `  fleet data     ${shown(d.fleetDir)}   (SQLite: ${shown(join(d.fleetDir, 'fleet.db'))})`,
    `  device certs   ${shown(d.devicesDir)}/<id>/`,
    ...(d.admin
      ? [`  admin          ${d.admin}: credential ${shown(d.operatorKey)} (the agents also trust it for commands)`]
      : []),
    '',
    'Try, in another terminal, on this host:',
    `  npx fleet device list ${data}`,
    `  npx fleet posture ${data}                    # exposure grades across the fleet`,
    `  npx fleet report demo-001 ${data}`,
    `  npx fleet ${relay} --key ${shown(d.operatorKey)} ${data}`,
    `  npx fleet audit ${data}`,
    `  npx fleet device revoke demo-001 ${data}     # watch it get dropped`,
    ...(d.admin
      ? [
          'or through the operator API, as from any machine with the CA and a credential:',
          `  npx fleet device list ${api}`,
          `  npx fleet ${relay} ${api}`,
          `  export EDGEWARD_TOKEN=$(npx fleet token create ${api} --scope devices:read --ttl 10m)`,
          `  curl --cacert ${ca} -H "Authorization: Bearer $EDGEWARD_TOKEN" ${url}/api/v1/devices`,
        ]
      : []),
    'Ctrl-C stops everything.',
    '',
  ];
}
