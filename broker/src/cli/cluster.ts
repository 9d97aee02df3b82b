// fleet cluster up | status | down: a local cluster (redis-server, PostgreSQL, N nodes, HAProxy) as plain processes.
import { isIPv4 } from 'node:net';
import { dispatch, parseCli, parsePort, parsePositiveInt, required, UsageError } from '../../../shared/src/index.js';
import {
  type ClusterStatus,
  clusterDown,
  clusterLayout,
  clusterStatus,
  clusterUp,
  connectInfo,
  INSTALL_LINE,
  requirePlan,
  type UpResult,
} from '../cluster/local/index.js';

const MAX_NODES = 16;
const MAX_DEVICES = 10_000;

const HELP = `fleet cluster up | status | down — a local cluster in one command (docs/cluster.md)

fleet cluster up --data DIR [--nodes 3] [--host 127.0.0.1] [--port 8883] [--api-port 8443] [--devices N]
                [--config FILE] [--json]
fleet cluster status --data DIR [--json]
fleet cluster down --data DIR

up starts, as plain processes on this machine: redis-server and PostgreSQL on 127.0.0.1 (generated passwords,
mode 0600, in DIR), N fleet server nodes (fleet serve --cluster) and HAProxy in TCP mode in front of them (TLS
passthrough: mutual TLS ends at the node; each node is health-checked on its HTTPS /readyz). It waits until every
part is healthy, then prints where to connect. On failure it stops what it started and names the part with the end
of its log. On a folder whose cluster already runs it prints the same and starts nothing.

  --data DIR      the cluster's folder: seed/ (the fleet: CA, devices; for fleet device add and fleet-sim),
                  nodes/, redis/, postgres/, haproxy/, run/ (pid files), logs/, operator.key (an admin credential)
  --nodes N       fleet server nodes, 1 to ${MAX_NODES} (default 3)
  --host ADDR     the IPv4 address the nodes and HAProxy listen on (default 127.0.0.1)
  --port P        HAProxy's MQTT port for devices (default 8883; 0 picks free ports for both fronts)
  --api-port P    HAProxy's HTTPS port for the operator API (default 8443, or free with --port 0)
                  (a folder's later ups keep its first up's nodes and ports: the flags may be left out)
  --devices N     issue N simulator identities (sim-00001 …) into DIR/seed/sim, known to every node
  --config FILE   a fleet server configuration (docs/fleet-config.md) each node is started with (fleet serve
                  --config). HAProxy connects to the nodes from 127.0.3.1 and sends each device's and operator's
                  address with the PROXY protocol; the nodes trust that address for it (added to
                  proxyProtocol.trustedProxies), so per-address limits and the audit see them, not HAProxy
  --json          print one JSON object (parts, ports, URLs) instead of the progress lines and the print-out

status shows each part (the nodes, redis, postgres, haproxy) with its pid, ports, whether it is alive (process and
ports) and healthy (node: /readyz and UP in HAProxy; redis: PING; postgres: a query; haproxy: its stats socket).
down stops HAProxy, the nodes, PostgreSQL and Redis, in that order; parts that do not stop in time are killed.

The nodes admit devices by the PostgreSQL store, into which the first up copies DIR/seed; the rest of their
records is in their own folders, copied from DIR/seed. A device added to the seed after the first up is not in the
store (not copied yet): start again from an empty DIR.
As root, PostgreSQL runs as the user postgres, which must be able to enter DIR's parent folders.
Needs ${INSTALL_LINE.replace('apt-get install -y ', '')} (\`${INSTALL_LINE}\`).

Exit codes: 0 success (status: all healthy), 1 error (status: a part is not healthy), 2 usage error.`;

export function clusterCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { up, status, down }, HELP);
}

async function up(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    {
      data: { type: 'string' },
      nodes: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'api-port': { type: 'string' },
      devices: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  const dir = required(values.data, '--data');
  const host = values.host ?? '127.0.0.1';
  if (!isIPv4(host)) throw new UsageError(`--host must be an IPv4 address, got ${JSON.stringify(host)}`);
  const port = (flag: 'port' | 'api-port') =>
    values[flag] === undefined ? undefined : parsePort(values[flag], `--${flag}`, 0, true);
  const devices = values.devices === undefined ? 0 : parsePositiveInt(values.devices, '--devices', 0, MAX_DEVICES);
  const json = values.json === true;
  const result = await clusterUp({
    dir,
    ...(values.nodes !== undefined ? { nodes: parsePositiveInt(values.nodes, '--nodes', 1, MAX_NODES) } : {}),
    host,
    ...optional('mqttPort', port('port')),
    ...optional('apiPort', port('api-port')),
    devices,
    ...(values.config !== undefined ? { nodeConfig: values.config } : {}),
    ...(json ? {} : { progress: (line: string) => process.stderr.write(`${line}\n`) }),
  });
  const info = connectInfo(result.layout, result.plan, dir, devices);
  if (json) {
    const state = await clusterStatus(result.layout, result.plan);
    process.stdout.write(`${JSON.stringify({ alreadyRunning: result.alreadyRunning, ...info, ...state })}\n`);
    return 0;
  }
  process.stdout.write(printOut(result, info));
  return 0;
}

const optional = <K extends string>(key: K, v: number | undefined) =>
  (v === undefined ? {} : { [key]: v }) as Partial<Record<K, number>>;

function printOut(result: UpResult, info: ReturnType<typeof connectInfo>): string {
  const c = info.commands;
  return [
    result.alreadyRunning
      ? `the cluster in ${result.layout.root} is already running`
      : `cluster of ${result.plan.nodes.length} nodes running in ${result.layout.root}`,
    ...(result.reseeded.length ? [`  nodes made from the seed folder: ${result.reseeded.join(', ')}`] : []),
    `  devices (MQTT, through HAProxy)   ${info.mqtt}`,
    `  operator API (through HAProxy)    ${info.api}   CA ${info.ca}`,
    `  admin credential                  ${info.credential}`,
    ...info.nodes.map((n) => `  ${n.id.padEnd(8)} direct               ${n.mqtt}   ${n.api}`),
    '  (an agent\'s "server" may list the nodes\' direct addresses instead of the balancer)',
    '',
    'next:',
    `  ${c.status}`,
    `  ${c.api}`,
    `  add a device: ${c.deviceAdd}`,
    `    (through the operator API: the nodes admit devices by the cluster's store, which the API writes)`,
    `  simulator: ${c.simulator}`,
    "    (identities it issues into the seed are registered in the cluster's store too)",
    `  stop: ${c.down}`,
    '',
  ].join('\n');
}

function dataOf(argv: string[], json: boolean) {
  const { values } = parseCli(
    argv,
    { data: { type: 'string' }, ...(json ? { json: { type: 'boolean' } } : {}) },
    HELP,
  ) as { values: { data?: string; json?: boolean } };
  return { dir: required(values.data, '--data'), json: values.json === true };
}

async function status(argv: string[]): Promise<number> {
  const { dir, json } = dataOf(argv, true);
  const layout = clusterLayout(dir);
  const state = await clusterStatus(layout, requirePlan(layout));
  process.stdout.write(json ? `${JSON.stringify(state)}\n` : statusTable(state));
  return state.healthy ? 0 : 1;
}

function statusTable(state: ClusterStatus): string {
  const rows = state.parts.map((p) =>
    [
      p.name.padEnd(9),
      String(p.pid ?? '-').padEnd(8),
      (p.alive ? 'alive' : 'down').padEnd(6),
      (p.healthy ? 'healthy' : 'UNHEALTHY').padEnd(10),
      (p.balancer !== undefined ? `haproxy:${p.balancer}` : '').padEnd(16),
      Object.entries(p.ports)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    ].join(' '),
  );
  const head = ['part'.padEnd(9), 'pid'.padEnd(8), 'alive'.padEnd(6), 'health'.padEnd(10), ''.padEnd(16), 'ports'].join(
    ' ',
  );
  return `${[head, ...rows].join('\n')}\n${state.healthy ? 'all healthy' : 'NOT all healthy'}\n`;
}

async function down(argv: string[]): Promise<number> {
  const { dir } = dataOf(argv, false);
  const outcome = await clusterDown(dir);
  for (const [part, how] of Object.entries(outcome)) process.stdout.write(`${part.padEnd(9)} ${how}\n`);
  return 0;
}
