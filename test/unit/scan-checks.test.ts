// Checks as pure functions of observations: severities by reachability, exposure and plaintext rules,
// TLS certificate facts, and HTTP heuristics that must not fire on catch-all pages.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runChecks } from '../../agent/src/scan/checks/index.js';
import { CHECKS } from '../../agent/src/scan/index.js';
import type {
  CertFacts,
  HttpExchange,
  ProtocolFacts,
  ServiceObservation,
  TlsFacts,
} from '../../agent/src/scan/types.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

function obs(
  port: number,
  facts: ProtocolFacts,
  opts: { exposed?: boolean; tls?: TlsFacts; process?: string } = {},
): ServiceObservation {
  const exposed = opts.exposed === true;
  return {
    target: { host: '127.0.0.1', port, transport: facts.protocol === 'ssdp' ? 'udp' : 'tcp', loopbackOnly: !exposed },
    listening: {
      transport: 'tcp',
      port,
      binds: [exposed ? '0.0.0.0' : '127.0.0.1'],
      ...(opts.process ? { process: { pid: 812, name: opts.process } } : {}),
    },
    facts,
    ...(opts.tls ? { tls: opts.tls } : {}),
  };
}

const checks = (o: ServiceObservation) =>
  runChecks(o, NOW)
    .map((f) => `${f.check}:${f.severity}`)
    .sort();

test('exposed Redis without password: critical, plus plaintext and exposure', () => {
  const o = obs(
    6379,
    { protocol: 'redis', reply: '+PONG', auth: 'none', version: '7.0.15' },
    { exposed: true, process: 'redis-server' },
  );
  assert.equal(checks(o), ['net.exposed-all-interfaces:medium', 'redis.no-auth:critical', 'tls.none:high']);
  const [f] = runChecks(o, NOW).filter((x) => x.check === 'net.exposed-all-interfaces');
  assert.match(f!.evidence, /bound to 0\.0\.0\.0 \(all interfaces\), owned by redis-server \(pid 812\)/);
  assert.match(f!.evidence, /ss -ltnp 'sport = :6379'/);
});

test('the same Redis on loopback only: the lower severity, nothing about exposure', () => {
  const o = obs(6379, { protocol: 'redis', reply: '+PONG', auth: 'none' });
  assert.equal(checks(o), ['redis.no-auth:high']);
  assert.match(runChecks(o, NOW)[0]!.evidence, /redis-cli -h 127\.0\.0\.1 -p 6379 PING/);
});

test('Redis with requirepass: no auth finding; exposed it is still a sensitive plaintext service', () => {
  assert.equal(
    checks(obs(6379, { protocol: 'redis', reply: '-NOAUTH Authentication required.', auth: 'required' })),
    [],
  );
  assert.equal(checks(obs(6379, { protocol: 'redis', reply: '-NOAUTH', auth: 'required' }, { exposed: true })), [
    'net.exposed-all-interfaces:medium',
    'tls.none:high',
  ]);
});

test('SSH: password methods are flagged, keys only are not, and SSH is never "sensitive exposure"', () => {
  const banner = 'SSH-2.0-OpenSSH_9.2p1';
  assert.equal(
    checks(obs(22, { protocol: 'ssh', banner, authMethods: ['publickey', 'password'] }, { exposed: true })),
    ['ssh.password-auth:medium'],
  );
  assert.equal(checks(obs(22, { protocol: 'ssh', banner, authMethods: ['publickey'] }, { exposed: true })), []);
  assert.equal(checks(obs(22, { protocol: 'ssh', banner, authMethods: ['publickey', 'keyboard-interactive'] })), [
    'ssh.password-auth:low',
  ]);
  assert.equal(checks(obs(22, { protocol: 'ssh', banner, authError: 'no algorithms in common with the probe' })), []);
});

test('MQTT: anonymous and wildcard only when granted; a refusing broker on the network is plaintext', () => {
  assert.equal(checks(obs(1883, { protocol: 'mqtt', connack: 0, subscribe: { topic: '#', returnCode: 0 } })), [
    'mqtt.anonymous:high',
    'mqtt.wildcard-read:high',
  ]);
  assert.equal(checks(obs(1883, { protocol: 'mqtt', connack: 0, subscribe: { topic: '#', returnCode: 128 } })), [
    'mqtt.anonymous:high',
  ]);
  assert.equal(checks(obs(1883, { protocol: 'mqtt', connack: 5 }, { exposed: true })), [
    'net.exposed-all-interfaces:medium',
    'tls.none:high',
  ]);
  const tls: TlsFacts = { version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', legacy: [], clientCertRequired: false };
  assert.equal(
    checks(obs(8883, { protocol: 'mqtt', connack: 5 }, { exposed: true, tls })),
    ['net.exposed-all-interfaces:medium'],
    'TLS: no tls.none',
  );
});

test('databases, remote access, industrial and discovery protocols', () => {
  assert.equal(checks(obs(11211, { protocol: 'memcached', reply: 'VERSION 1.6.18', version: '1.6.18' })), [
    'memcached.open:medium',
  ]);
  assert.equal(checks(obs(27017, { protocol: 'mongodb', listDatabases: { ok: true, detail: 'ok: 1' } })), [
    'mongodb.no-auth:high',
  ]);
  assert.equal(
    checks(obs(27017, { protocol: 'mongodb', listDatabases: { ok: false, detail: 'ok: 0, Unauthorized' } })),
    [],
  );
  assert.equal(
    checks(
      obs(5432, {
        protocol: 'postgresql',
        sslSupported: false,
        trust: { user: 'postgres', accepted: true, detail: 'AuthenticationOk' },
      }),
    ),
    ['postgres.trust:high'],
  );
  assert.equal(
    checks(
      obs(
        5432,
        {
          protocol: 'postgresql',
          sslSupported: true,
          trust: { user: 'postgres', accepted: false, detail: 'AuthenticationSASL' },
        },
        { exposed: true },
      ),
    ),
    ['net.exposed-all-interfaces:medium'],
  );
  assert.equal(checks(obs(23, { protocol: 'telnet', banner: 'login:', iac: true }, { exposed: true })), [
    'net.exposed-all-interfaces:medium',
    'telnet.open:critical',
  ]);
  assert.equal(
    checks(
      obs(21, { protocol: 'ftp', banner: '220 vsFTPd', anonymous: { accepted: true, reply: '230 Login successful.' } }),
    ),
    ['ftp.anonymous:medium'],
  );
  assert.equal(
    checks(
      obs(21, { protocol: 'ftp', banner: '220 vsFTPd', anonymous: { accepted: false, reply: '530 Login incorrect.' } }),
    ),
    [],
  );
  assert.equal(checks(obs(502, { protocol: 'modbus', unitId: 1, functionCode: 0xab, exception: 1 })), [
    'modbus.open:medium',
  ]);
  assert.equal(checks(obs(1900, { protocol: 'ssdp', st: 'upnp:rootdevice' }, { exposed: true })), ['upnp.open:medium']);
  assert.equal(checks(obs(9999, { protocol: 'unknown' }, { exposed: true })), []);
});

const cert = (over: Partial<CertFacts>): CertFacts => ({
  subject: 'CN=gw',
  issuer: 'CN=fleet-ca',
  selfSigned: false,
  notBefore: Date.parse('2026-01-01T00:00:00Z'),
  notAfter: Date.parse('2027-01-01T00:00:00Z'),
  keyType: 'ec',
  keyBits: 256,
  curve: 'prime256v1',
  fingerprint256: 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99',
  ...over,
});
const tlsWith = (c: CertFacts, legacy: TlsFacts['legacy'] = []): TlsFacts => ({
  version: 'TLSv1.3',
  cipher: 'x',
  cert: c,
  legacy,
  clientCertRequired: false,
});

test('TLS certificate facts', () => {
  const o = (t: TlsFacts) => obs(443, { protocol: 'unknown' }, { tls: t });
  assert.equal(checks(o(tlsWith(cert({})))), []);
  assert.equal(checks(o(tlsWith(cert({ selfSigned: true, issuer: 'CN=gw' })))), ['tls.self-signed:info']);
  assert.equal(checks(o(tlsWith(cert({ notAfter: Date.parse('2026-05-31T00:00:00Z') })))), ['tls.expired:low']);
  assert.equal(
    checks(o(tlsWith(cert({ notBefore: Date.parse('2026-07-01T00:00:00Z') })))),
    ['tls.expired:low'],
    'not yet valid',
  );
  assert.equal(checks(o(tlsWith(cert({ keyType: 'rsa', keyBits: 1024 })))), ['tls.weak-key:low']);
  assert.equal(checks(o(tlsWith(cert({ keyType: 'rsa', keyBits: 2048 })))), []);
  assert.equal(checks(o(tlsWith(cert({ keyType: 'ec', keyBits: 224, curve: 'secp224r1' })))), ['tls.weak-key:low']);
  assert.equal(checks(o(tlsWith(cert({ keyType: 'ed25519', keyBits: 256 })))), []);
  const legacy = checks(o(tlsWith(cert({}), [{ version: 'TLSv1.1', cipher: 'ECDHE-RSA-AES128-SHA' }])));
  assert.equal(legacy, ['tls.weak-protocol:low']);
  const ev = runChecks(o(tlsWith(cert({}), [{ version: 'TLSv1', cipher: 'AES256-SHA' }])), NOW)[0]!.evidence;
  assert.match(ev, /openssl s_client -connect 127\.0\.0\.1:443 -tls1 -cipher DEFAULT@SECLEVEL=0/);
});

const res = (status: number, body = '', headers: Record<string, string> = {}) => ({ status, headers, body });
const x = (path: string, response?: ReturnType<typeof res>, extra: Partial<HttpExchange> = {}): HttpExchange => ({
  method: 'GET',
  path,
  ...(response ? { response } : { error: 'ECONNRESET' }),
  ...extra,
});
const http = (exchanges: HttpExchange[], nodeRed = false): ProtocolFacts => ({ protocol: 'http', exchanges, nodeRed });
const safe = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'",
  'content-type': 'text/html',
};

test('a single-page app that answers 200 everywhere is not a pile of findings', () => {
  const spa = '<!doctype html><html><head><title>Admin dashboard</title></head><body><div id=app></div></body></html>';
  const paths = [
    '/',
    '/edgeward-probe-abc',
    '/.env',
    '/.git/config',
    '/backup.zip',
    '/debug/vars',
    '/api',
    '/admin',
    '/config',
  ];
  const o = obs(8080, http(paths.map((p) => x(p, res(200, spa, safe)))));
  // Only "/" counts: an admin page served without credentials.
  assert.equal(checks(o), ['http.no-auth:medium']);
});

test('file signatures: an HTML /.env or an empty .git/config is not sensitive', () => {
  const o = obs(
    8080,
    http([
      x('/', res(404, 'no', safe)),
      x('/edgeward-probe-abc', res(404, 'no', safe)),
      x('/.env', res(200, '<html>KEY=1</html>', safe)),
      x('/.git/config', res(200, 'hello', safe)),
      x('/backup.zip', res(200, 'PK\x03\x04rest', safe)),
    ]),
  );
  assert.equal(checks(o), ['http.sensitive-file:medium']);
  assert.match(runChecks(o, NOW)[0]!.evidence, /GET \/backup\.zip answered 200/);
});

test('CORS: wildcard and reflected origins; a fixed origin is fine', () => {
  const origin = 'https://edgeward-probe.invalid';
  const base = (acao: string) =>
    obs(8080, http([x('/', res(200, 'ok', { ...safe, 'access-control-allow-origin': acao }), { origin })]));
  assert.equal(checks(base('*')), ['http.cors-wildcard:low']);
  assert.equal(checks(base(origin)), ['http.cors-wildcard:low']);
  assert.equal(checks(base('https://app.example.com')), []);
});

test('default credentials, throttling and plaintext logins on an exposed server', () => {
  const challenge = res(401, 'login', { ...safe, 'www-authenticate': 'Basic realm="gw"' });
  const exchanges = [
    x('/', res(200, 'hi', safe)),
    x('/admin', challenge),
    x('/admin', res(200, 'welcome', safe), { credentials: 'admin:admin' }),
  ];
  for (let i = 0; i < 10; i++) exchanges.push(x('/admin', challenge, { credentials: 'edgeward-probe:zz' }));
  const o = obs(80, http(exchanges), { exposed: true });
  assert.equal(checks(o), [
    'http.default-credentials:critical',
    'http.no-rate-limit:medium',
    'net.exposed-all-interfaces:medium',
    'tls.none:high',
  ]);
  const throttled = [
    ...exchanges.slice(0, 8),
    x('/admin', res(429, 'slow', { 'retry-after': '60' }), { credentials: 'edgeward-probe:zz' }),
  ];
  assert.not.ok(checks(obs(80, http(throttled))).some((c) => c.startsWith('http.no-rate-limit')));
});

test('Node-RED without adminAuth, and stack traces in errors', () => {
  const o = obs(
    1880,
    http(
      [
        x('/', res(200, '<title>Node-RED</title>', safe)),
        x('/flows', res(200, '[{"id":"1"}]', { ...safe, 'content-type': 'application/json' })),
        x('/auth/login', res(200, '{}', safe)),
      ],
      true,
    ),
  );
  assert.equal(checks(o), ['nodered.no-auth:high']);
  const trace =
    'TypeError: x is undefined\n    at handler (/srv/app/index.js:12:5)\n    at next ' +
    '(/srv/app/node_modules/express/lib/router.js:1:1)';
  const e = obs(
    8080,
    http([
      x('/', res(200, 'ok', safe)),
      x('/edgeward-probe/%ff%?q=%', res(500, trace, { 'content-type': 'text/plain' })),
    ]),
  );
  assert.equal(checks(e), ['http.verbose-errors:low']);
  assert.equal(
    checks(
      obs(
        8080,
        http([
          x('/', res(200, 'ok', safe)),
          x('/missing', res(500, 'Traceback (most recent call last):\n  File "app.py"')),
        ]),
      ),
    ),
    ['http.verbose-errors:low'],
  );
});

test('every finding names a catalogue check, carries evidence and references', () => {
  const o = obs(6379, { protocol: 'redis', reply: '+PONG', auth: 'none' }, { exposed: true });
  for (const f of runChecks(o, NOW)) {
    const def = CHECKS.get(f.check)!;
    assert.ok(def, f.check);
    assert.is(f.category, def.category);
    assert.is(f.title, def.title);
    assert.ok(f.evidence.length > 20 && f.evidence.includes('`'), `${f.check} evidence has a command to re-check`);
    assert.ok(f.references.length > 0);
  }
});

test.run();
