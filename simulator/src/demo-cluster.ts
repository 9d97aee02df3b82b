// `fleet-sim demo --cluster`: the demo on a local cluster (`fleet cluster up`: Redis, PostgreSQL, N fleet server
// nodes and HAProxy) instead of one server: the demo's real agents connect through HAProxy, the operator API is read
// through it too, and Ctrl-C stops the agents and the cluster.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  clusterDown,
  clusterUp,
  connectInfo,
  operatorKeyPath,
  SIM_PREFIX,
  simFolder,
} from '../../broker/src/cluster/local/index.js';
import { postgresUrl } from '../../broker/src/cluster/local/postgres.js';
import { openPostgresStore } from '../../broker/src/store/postgres/store.js';
import {
  createLogger,
  parsePrivateKeyPem,
  publicKeyToPem,
  readRegularText,
  writeFileSafe,
} from '../../shared/src/index.js';
import { startDemoAgents, statusUntilStopped } from './demo-agents.js';
import { ensureIdentities, simIds } from './identities.js';

export interface ClusterDemoOptions {
  readonly dir: string;
  readonly nodes: number;
  readonly devices: number;
  readonly interval: number;
  /** HAProxy's MQTT and API fronts. */
  readonly mqttPort: number;
  readonly apiPort: number;
}

export async function clusterDemo(o: ClusterDemoOptions): Promise<number> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`starting a local cluster of ${o.nodes} nodes in ${o.dir} (redis, postgres, nodes, haproxy) …`);
  const up = await clusterUp({
    dir: o.dir,
    nodes: o.nodes,
    host: '127.0.0.1',
    mqttPort: o.mqttPort,
    apiPort: o.apiPort,
    devices: o.devices,
    progress: (line) => say(`  ${line}`),
  });
  const { layout, plan } = up;
  const log = createLogger({ format: 'pretty', level: 'warn', base: { component: 'demo' } });
  const stopCluster = async () => {
    say('stopping the cluster …');
    await clusterDown(o.dir);
  };
  try {
    // The simulator's identities, registered in the cluster's store (an earlier, smaller cluster may lack some).
    const ids = simIds(SIM_PREFIX, o.devices);
    await ensureIdentities(layout.seed, ids);
    // The admin credential is also the operator key the agents trust for commands.
    const operatorKey = operatorKeyPath(layout);
    const operatorPub = `${operatorKey}.pub`;
    if (!existsSync(operatorPub)) {
      const pair = parsePrivateKeyPem(readRegularText(operatorKey, { maxBytes: 16 * 1024 }), operatorKey);
      writeFileSafe(operatorPub, publicKeyToPem(pair.publicKey));
    }
    const info = connectInfo(layout, plan, o.dir, o.devices);
    const agents = await startDemoAgents({
      ids,
      dirOf: (id) => join(simFolder(layout), id),
      server: info.mqtt,
      operatorPub,
      interval: o.interval,
      log,
    });
    const store = await openPostgresStore(postgresUrl(layout, plan));
    const api = `--server ${info.api} --ca ${info.ca} --credential ${info.credential}`;
    for (const line of [
      '',
      `edgeward demo fleet is running: ${o.devices} agents → HAProxy → ${plan.nodes.length} fleet server nodes`,
      `  MQTT (mTLS, through HAProxy)   ${info.mqtt}`,
      `  operator API (through HAProxy) ${info.api}/api/v1`,
      ...info.nodes.map((n) => `  ${n.id.padEnd(30)} ${n.mqtt}   ${n.api}`),
      `  records                        PostgreSQL (${plan.host}:${plan.postgresPort}), sessions in Redis`,
      `  admin credential               ${info.credential} (the agents also trust it for commands)`,
      '',
      'Try, in another terminal:',
      `  npx ${info.commands.status}`,
      `  npx fleet device list ${api}`,
      `  npx fleet cmd send ${ids[0]} set-relay --param channel=1 --param state=on --wait 10s ${api}`,
      `  npx fleet posture ${api}`,
      `  npx fleet dashboard link ${api}      # a one-time dashboard link (through HAProxy)`,
      `  kill a node (its pid: ${info.commands.status} --json) and watch its agents move to the others`,
      'Ctrl-C stops the agents and the cluster.',
      '',
    ])
      say(line);

    // The store's counts: what every node wrote.
    await statusUntilStopped(
      o.devices,
      async () => ({
        online: (await store.registry.counts()).online,
        samples: (await store.telemetry.countPerPeriod([0]))[0]!,
      }),
      log,
    );
    say('\nstopping the agents …');
    await Promise.all(agents.map((a) => a.close()));
    await store.close();
  } finally {
    await stopCluster();
  }
  return 0;
}
