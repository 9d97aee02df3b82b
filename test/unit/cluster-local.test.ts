// The local cluster's pure parts: the generated haproxy.cfg, reading HAProxy's `show stat`, and how the parts'
// probes add up to `fleet cluster status` (which decides its exit code).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  aggregateStatus,
  clusterUp,
  findClusterBinaries,
  type ClusterPlan,
  haproxyConfig,
  type PartProbe,
  parseShowStat,
} from '../../broker/src/cluster/local/index.js';
import { clusterLayout } from '../../broker/src/cluster/local/layout.js';
import { writeNodeConfig } from '../../broker/src/cluster/local/nodes.js';
import { parseFleetConfig } from '../../broker/src/config.js';
import { EdgewardError } from '../../shared/src/index.js';
import { tmpDir } from '../helpers/tmp.js';

const plan: ClusterPlan = {
  version: 1,
  host: '127.0.0.1',
  redisPort: 7001,
  postgresPort: 7002,
  mqttPort: 8883,
  apiPort: 8443,
  nodes: [
    { id: 'node-1', mqttPort: 9001, httpPort: 9101, downloadPort: 9201 },
    { id: 'node-2', mqttPort: 9002, httpPort: 9102, downloadPort: 9202 },
  ],
};
const files = { caFile: '/c/seed/pki/ca.crt', statsSocket: '/c/run/haproxy.sock' };

test('haproxy.cfg: tcp passthrough, leastconn for devices, a sticky API, /readyz checked over TLS', () => {
  const cfg = haproxyConfig(plan, files);
  const lines = cfg.split('\n').map((l) => l.trim());
  assert.ok(lines.includes('mode tcp'));
  assert.not.match(cfg, /mode http|bind .* ssl|\scrt\s/, 'no TLS ends at HAProxy');
  assert.ok(lines.includes('stats socket /c/run/haproxy.sock mode 600 level admin'));
  assert.ok(lines.includes('bind 127.0.0.1:8883'));
  assert.ok(lines.includes('bind 127.0.0.1:8443'));
  const backend = (name: string) => cfg.split(`\nbackend ${name}\n`)[1]!.split('\n\n')[0]!;
  const mqtt = backend('fleet_mqtt');
  assert.match(mqtt, /balance leastconn/);
  assert.match(mqtt, /option httpchk GET \/readyz/);
  assert.match(mqtt, /http-check expect status 200/);
  const check = 'check-ssl verify required ca-file /c/seed/pki/ca.crt inter 1s fall 2 rise 2 on-marked-down';
  // Traffic and checks start with a PROXY v2 header, from the one source address the nodes trust for it.
  const proxied = (port: number, checkPort: number) =>
    `127.0.0.1:${port} send-proxy-v2 check port ${checkPort} check-send-proxy ${check} shutdown-sessions`;
  assert.ok(mqtt.includes(`server node-1 ${proxied(9001, 9101)}`), mqtt);
  assert.ok(mqtt.includes(`server node-2 ${proxied(9002, 9102)}`), mqtt);
  assert.match(mqtt, /\n\s+source 127\.0\.3\.1\n/);
  const api = backend('fleet_api');
  assert.match(api, /balance source\n\s+hash-type consistent/, 'an operator keeps to the node whose token it holds');
  assert.ok(api.includes(`server node-1 ${proxied(9101, 9101)}`), api);
  assert.match(api, /\n\s+source 127\.0\.3\.1\n/);
  assert.is(haproxyConfig(plan, files), cfg, 'a pure function of the plan');
});

test("the nodes' config: up --config's, defaults filled in, HAProxy's source trusted besides the user's own", () => {
  const layout = clusterLayout(tmpDir('edgeward-node-config-'));
  const given = parseFleetConfig({
    limits: { connectionBurstPerAddress: 7 },
    proxyProtocol: { trustedProxies: ['10.0.0.0/8'] },
  });
  writeNodeConfig(layout, given);
  assert.is(statSync(layout.nodeConfig).mode & 0o777, 0o600);
  const written = parseFleetConfig(JSON.parse(readFileSync(layout.nodeConfig, 'utf8')));
  assert.equal(written, { ...given, proxyProtocol: { trustedProxies: ['10.0.0.0/8', '127.0.3.1'] } });
  // Without a given config: the defaults, and HAProxy trusted.
  writeNodeConfig(layout, parseFleetConfig({}));
  const plain = parseFleetConfig(JSON.parse(readFileSync(layout.nodeConfig, 'utf8')));
  assert.equal(plain, { ...parseFleetConfig({}), proxyProtocol: { trustedProxies: ['127.0.3.1'] } });
});

const STAT = [
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight',
  'mqtt,FRONTEND,,,0,1,8000,1,0,0,0,0,0,,,,,OPEN,',
  'fleet_mqtt,node-1,0,0,1,1,,1,0,0,,0,,0,0,0,0,UP,1',
  'fleet_mqtt,node-2,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1',
  'fleet_mqtt,BACKEND,0,0,1,1,800,1,0,0,0,0,,0,0,0,0,UP,1',
  'fleet_api,node-1,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1',
  'fleet_api,node-2,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP 1/2,1',
  '',
].join('\n');

test('show stat: the server rows with their state, frontends and backends left out', () => {
  assert.equal(parseShowStat(STAT), [
    { backend: 'fleet_mqtt', server: 'node-1', status: 'UP' },
    { backend: 'fleet_mqtt', server: 'node-2', status: 'DOWN' },
    { backend: 'fleet_api', server: 'node-1', status: 'UP' },
    { backend: 'fleet_api', server: 'node-2', status: 'UP 1/2' },
  ]);
  assert.equal(parseShowStat(''), []);
  assert.equal(parseShowStat('Unknown command\n'), [], 'an answer that is not the CSV gives no rows');
});

const probe = (name: string, kind: PartProbe['kind'], ok = true): PartProbe => ({
  name,
  kind,
  pid: ok ? 100 : null,
  ports: { p: 1 },
  portsOpen: ok,
  check: ok,
});
const allParts = () => [
  probe('redis', 'redis'),
  probe('postgres', 'postgres'),
  probe('node-1', 'node'),
  probe('node-2', 'node'),
  probe('haproxy', 'haproxy'),
];
const servers = (node2: string) => parseShowStat(STAT.replace(/DOWN|UP 1\/2/g, node2));

test('status: healthy when every part is alive and passes its check, and HAProxy has each node UP', () => {
  const s = aggregateStatus(allParts(), servers('UP'));
  assert.ok(s.healthy);
  assert.equal(
    s.parts.map((p) => [p.name, p.alive, p.healthy, p.balancer]),
    [
      ['redis', true, true, undefined],
      ['postgres', true, true, undefined],
      ['node-1', true, true, 'UP'],
      ['node-2', true, true, 'UP'],
      ['haproxy', true, true, undefined],
    ],
  );
});

test('status: a killed node is down, not healthy, and so is the cluster; HAProxy still serves', () => {
  const parts = allParts();
  parts[3] = probe('node-2', 'node', false);
  const s = aggregateStatus(parts, servers('DOWN'));
  assert.not.ok(s.healthy);
  const node2 = s.parts.find((p) => p.name === 'node-2')!;
  assert.equal([node2.alive, node2.healthy, node2.balancer], [false, false, 'DOWN']);
  assert.ok(s.parts.find((p) => p.name === 'haproxy')!.healthy, 'one node UP in each backend');
});

test('status: a ready node HAProxy does not route to is not healthy; a closed port is not alive', () => {
  const s = aggregateStatus(allParts(), servers('DOWN'));
  assert.not.ok(s.parts.find((p) => p.name === 'node-2')!.healthy);
  const closed = aggregateStatus([{ ...probe('redis', 'redis'), portsOpen: false }], undefined);
  assert.equal([closed.parts[0]!.alive, closed.parts[0]!.healthy, closed.healthy], [false, false, false]);
});

test('status: without HAProxy the nodes are judged on their own and HAProxy is not healthy', () => {
  const parts = allParts();
  parts[4] = probe('haproxy', 'haproxy', false);
  const s = aggregateStatus(parts, undefined);
  assert.equal(s.parts.find((p) => p.name === 'node-1')!.balancer, 'unknown');
  assert.ok(s.parts.find((p) => p.name === 'node-1')!.healthy);
  assert.not.ok(s.parts.find((p) => p.name === 'haproxy')!.healthy);
  assert.not.ok(s.healthy);
  assert.not.ok(aggregateStatus([], undefined).healthy, 'no parts is not a healthy cluster');
});

test('up --config: a missing file, a folder, a FIFO, bad JSON or a bad setting: refused before any start', async () => {
  const root = tmpDir('edgeward-cluster-config-');
  const fifo = join(root, 'fifo');
  execFileSync('mkfifo', [fifo]);
  writeFileSync(join(root, 'bad.json'), '{ not json');
  writeFileSync(join(root, 'bad-setting.json'), JSON.stringify({ limits: { maxPendingHandshakes: 'many' } }));
  for (const [file, why] of [
    [join(root, 'absent.json'), /cannot read config/],
    [root, /cannot read config/],
    [fifo, /cannot read config/],
    [join(root, 'bad.json'), /cannot read config/],
    [join(root, 'bad-setting.json'), /maxPendingHandshakes/],
  ] as const) {
    const dir = join(root, 'c');
    const err: EdgewardError = await clusterUp({ dir, host: '127.0.0.1', devices: 0, nodeConfig: file }).then(
      () => assert.unreachable(file) as never,
      (e: EdgewardError) => e,
    );
    assert.is(err.code, 'FLEET_CONFIG_INVALID', `${file}: ${err.message}`);
    assert.match(err.message, why);
    assert.not.ok(existsSync(dir), 'nothing was made');
  }
});

test('missing programs: one typed error naming each and the apt-get line; PostgreSQL found in its own folder', () => {
  const root = tmpDir('edgeward-bins-');
  const bin = join(root, 'bin');
  const pgBin = join(root, 'postgresql', '15', 'bin');
  for (const [dir, name] of [
    [bin, 'redis-server'],
    [pgBin, 'initdb'],
    [pgBin, 'postgres'],
  ] as const) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), '#!/bin/sh\n');
    chmodSync(join(dir, name), 0o755);
  }
  const search = { path: bin, sbin: [], postgresRoot: join(root, 'postgresql') };
  const err = (() => {
    try {
      findClusterBinaries(search);
    } catch (e) {
      return e;
    }
  })() as EdgewardError;
  assert.instance(err, EdgewardError);
  assert.is(err.code, 'FLEET_CLUSTER_PEER_MISSING');
  assert.match(err.message, /needs haproxy, not found/);
  assert.match(err.message, /apt-get install -y redis-server haproxy postgresql/);
  writeFileSync(join(bin, 'haproxy'), '#!/bin/sh\n');
  chmodSync(join(bin, 'haproxy'), 0o755);
  assert.equal(findClusterBinaries(search), {
    redisServer: join(bin, 'redis-server'),
    haproxy: join(bin, 'haproxy'),
    initdb: join(pgBin, 'initdb'),
    postgres: join(pgBin, 'postgres'),
  });
  const none = { path: '', sbin: [], postgresRoot: join(root, 'absent') };
  assert.throws(() => findClusterBinaries(none), /needs redis-server, haproxy, initdb, postgres, not found/);
});

test.run();
