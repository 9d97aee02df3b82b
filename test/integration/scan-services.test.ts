// The scanner against real services on loopback, each vulnerable and hardened: the exact findings on every
// vulnerable one, none of that class on its hardened twin, and valid JSON and SARIF for the whole report.
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import { encode } from '../../shared/src/index.js';
import { decodeExposure, type ExposureReport } from '../../shared/src/messages/exposure.js';
import { runScan, toSarif } from '../../agent/src/scan/index.js';
import { testWithPeers } from '../helpers/peers.js';
import { tmpDir } from '../helpers/tmp.js';
import { caAndLeaf, expiredSelfSigned, selfSigned } from '../fixtures/scan/certs.js';
import { sarifValidator } from '../fixtures/scan/sarif-validator.js';
import * as S from '../fixtures/scan/services.js';

const test = testWithPeers(
  ['mosquitto', 'redis-server', 'memcached', 'openssl'],
  'apt-get install -y mosquitto redis-server memcached openssl',
);
const services = new S.Services();
base.after(() => services.stopAll());

type Name =
  | 'mqttAnon'
  | 'mqttCert'
  | 'redisOpen'
  | 'redisPass'
  | 'memcached'
  | 'tls10'
  | 'httpVuln'
  | 'httpAdmin'
  | 'httpsHard'
  | 'nodeRed'
  | 'telnet'
  | 'modbus'
  | 'ssdp'
  | 'tlsExpired';
let started: Record<Name, S.Running> | undefined;
let report: ExposureReport | undefined;

async function scanned(): Promise<{ ports: Record<Name, S.Running>; report: ExposureReport }> {
  if (!started) {
    const dir = tmpDir('edgeward-scan-');
    const { ca, leaf } = caAndLeaf(dir);
    const weak = selfSigned(dir, 'weak-tls10', 1024);
    const expired = expiredSelfSigned(dir);
    const entries = await Promise.all(
      (
        [
          ['mqttAnon', () => S.startMosquitto(dir, { anonymous: true })],
          ['mqttCert', () => S.startMosquitto(dir, { tls: { ca, leaf } })],
          ['redisOpen', () => S.startRedis()],
          ['redisPass', () => S.startRedis('a-long-random-redis-password-31')],
          ['memcached', () => S.startMemcached()],
          ['tls10', () => S.startOpensslTls10(weak)],
          ['httpVuln', () => S.startVulnerableHttp()],
          ['httpAdmin', () => S.startAdminHttp()],
          ['httpsHard', () => S.startHardenedHttps(leaf, 'a-long-random-http-password-32')],
          ['nodeRed', () => S.startNodeRedLike()],
          ['telnet', () => S.startTelnetLike()],
          ['modbus', () => S.startModbusLike()],
          ['ssdp', () => S.startSsdpLike()],
          ['tlsExpired', () => S.startSilentTls(expired)],
        ] as const
      ).map(async ([name, start]) => [name, services.add(await start())] as const),
    );
    started = Object.fromEntries(entries) as Record<Name, S.Running>;
    const ports = Object.values(started)
      .map((r) => `${r.transport}:${r.port}`)
      .join(',');
    report = await runScan({ ports, deviceId: 'it-scan-01' });
  }
  return { ports: started, report: report! };
}

const EXPECTED: Record<Name, { protocol: string; tls: boolean; checks: string[] }> = {
  mqttAnon: { protocol: 'mqtt', tls: false, checks: ['mqtt.anonymous', 'mqtt.wildcard-read'] },
  mqttCert: { protocol: 'unknown', tls: true, checks: [] },
  redisOpen: { protocol: 'redis', tls: false, checks: ['redis.no-auth'] },
  redisPass: { protocol: 'redis', tls: false, checks: [] },
  memcached: { protocol: 'memcached', tls: false, checks: ['memcached.open'] },
  tls10: {
    protocol: 'http',
    tls: true,
    checks: ['http.security-headers', 'tls.self-signed', 'tls.weak-key', 'tls.weak-protocol'],
  },
  httpVuln: {
    protocol: 'http',
    tls: false,
    checks: [
      'http.cors-wildcard',
      'http.directory-listing',
      'http.security-headers',
      'http.sensitive-file',
      'http.server-disclosure',
      'http.verbose-errors',
    ],
  },
  httpAdmin: {
    protocol: 'http',
    tls: false,
    checks: [
      'http.dangerous-methods',
      'http.debug-endpoint',
      'http.default-credentials',
      'http.no-auth',
      'http.no-rate-limit',
    ],
  },
  httpsHard: { protocol: 'http', tls: true, checks: [] },
  nodeRed: { protocol: 'http', tls: false, checks: ['nodered.no-auth'] },
  telnet: { protocol: 'telnet', tls: false, checks: ['telnet.open'] },
  modbus: { protocol: 'modbus', tls: false, checks: ['modbus.open'] },
  ssdp: { protocol: 'ssdp', tls: false, checks: ['upnp.open'] },
  tlsExpired: { protocol: 'unknown', tls: true, checks: ['tls.expired', 'tls.self-signed'] },
};

for (const [name, want] of Object.entries(EXPECTED) as [Name, (typeof EXPECTED)[Name]][]) {
  test(`${name}: ${want.checks.length ? want.checks.join(', ') : 'no findings'}`, async () => {
    const { ports, report } = await scanned();
    const r = ports[name];
    const svc = report.services.find((s) => s.port === r.port && s.transport === r.transport);
    assert.ok(svc, `${name} on ${r.transport}/${r.port} is listed`);
    assert.is(svc!.protocol, want.protocol, `${name} protocol`);
    assert.is(svc!.tls, want.tls, `${name} tls`);
    assert.ok(svc!.loopbackOnly);
    const got = report.findings.filter((f) => f.port === r.port && f.transport === r.transport);
    assert.equal(got.map((f) => f.check).sort(), want.checks, `${name} findings`);
    for (const f of got) assert.ok(f.evidence.includes(String(r.port)), `${f.check} evidence names the port`);
  });
}

test('hardened twins raise nothing of their class', async () => {
  const { ports, report } = await scanned();
  const on = (n: Name) => report.findings.filter((f) => f.port === ports[n].port).map((f) => f.check);
  assert.not.ok(on('mqttCert').some((c) => c.startsWith('mqtt.')));
  assert.not.ok(on('redisPass').some((c) => c.startsWith('redis.')));
  assert.not.ok(on('httpsHard').some((c) => c.startsWith('http.') || c.startsWith('tls.')));
});

test('products are named where services announce them', async () => {
  const { ports, report } = await scanned();
  const product = (n: Name) => report.services.find((s) => s.port === ports[n].port)?.product ?? '';
  assert.match(product('mqttAnon'), /mosquitto/);
  assert.match(product('redisOpen'), /^Redis \d/);
  assert.match(product('memcached'), /^memcached \d/);
  assert.match(product('modbus'), /EW-PLC/);
});

test('the report is a valid exposure message and valid SARIF 2.1.0', async () => {
  const { report } = await scanned();
  assert.equal(decodeExposure(encode(report)), report);
  assert.equal(sarifValidator()(toSarif(report)), []);
  assert.is(report.scan.timedOut, false);
  assert.ok(report.grade === 'F' && report.score <= 59, 'critical-free but many high findings: a failing grade');
});

test('--no-credential-checks: no default-credential tries and no login burst', async () => {
  const { ports } = await scanned();
  const quiet = await runScan({ ports: String(ports.httpAdmin.port), credentialChecks: false, deviceId: 'it-scan-02' });
  assert.equal(quiet.findings.map((f) => f.check).sort(), [
    'http.dangerous-methods',
    'http.debug-endpoint',
    'http.no-auth',
  ]);
  assert.is(quiet.scan.credentialChecks, false);
});

base.run();
