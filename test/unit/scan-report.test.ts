// The exposure report: built reports pass the shared schema and round-trip through CBOR; the decoder refuses
// what it must; oversize reports are trimmed; sample reports for the simulator are valid and deterministic.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encode, ProtocolError } from '../../shared/src/index.js';
import { decodeExposure, MAX_EXPOSURE_BYTES, type ExposureFinding } from '../../shared/src/messages/exposure.js';
import { buildReport, CHECKS, sampleReport, scoreFindings } from '../../agent/src/scan/index.js';

function rng(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
}

const base = {
  id: 'AbCdEfGh12345678',
  ts: Date.parse('2026-06-01T00:00:00Z'),
  deviceId: 'gw-0001',
  target: 'local',
  durationMs: 812,
  timedOut: false,
  credentialChecks: true,
};

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.instance(err, ProtocolError);
    return (err as ProtocolError).code;
  }
}

test('sample reports are valid, realistic and deterministic per seed', () => {
  const seen = new Set<string>();
  for (let s = 1; s <= 200; s++) {
    const r = sampleReport(`sim-${String(s).padStart(4, '0')}`, rng(s), { now: base.ts });
    const back = decodeExposure(encode(r));
    assert.equal(back, r);
    assert.equal(
      sampleReport(`sim-${String(s).padStart(4, '0')}`, rng(s), { now: base.ts }),
      r,
      'same seed, same report',
    );
    assert.is(r.score, scoreFindings(r.findings).score, 'the score is the real formula');
    for (const f of r.findings) {
      assert.ok(CHECKS.has(f.check));
      assert.ok(
        r.services.some((svc) => svc.port === f.port && svc.transport === f.transport),
        'every finding is on a listed service',
      );
      seen.add(f.check);
    }
    seen.add(r.grade);
  }
  for (const g of ['A', 'F']) assert.ok(seen.has(g), `grade ${g} appears among 200 devices`);
  for (const c of ['mqtt.anonymous', 'ssh.password-auth', 'telnet.open', 'net.exposed-all-interfaces'])
    assert.ok(seen.has(c), c);
});

test('findings come out sorted by severity, then port, and deduplicated', () => {
  const mk = (check: string, severity: ExposureFinding['severity'], port: number): ExposureFinding => ({
    check,
    severity,
    category: CHECKS.get(check)!.category,
    port,
    transport: 'tcp',
    title: CHECKS.get(check)!.title,
    evidence: 'seen',
    remediation: 'fix',
    references: ['CWE-306'],
  });
  const r = buildReport({
    ...base,
    services: [],
    findings: [
      mk('http.security-headers', 'low', 80),
      mk('redis.no-auth', 'critical', 6379),
      mk('http.no-auth', 'high', 80),
      mk('redis.no-auth', 'critical', 6379),
    ],
  });
  assert.equal(
    r.findings.map((f) => f.check),
    ['redis.no-auth', 'http.no-auth', 'http.security-headers'],
  );
  assert.is(r.score, 52);
});

test('an oversize report is trimmed (least severe first) to fit 256 KiB, and says so', () => {
  const findings: ExposureFinding[] = [];
  for (let i = 0; i < 1500; i++) {
    findings.push({
      check: i % 2 ? 'http.security-headers' : 'http.no-auth',
      severity: i % 2 ? 'low' : 'high',
      category: i % 2 ? 'configuration' : 'authentication',
      port: 1 + (i % 60000),
      transport: 'tcp',
      title: 'x',
      evidence: 'e'.repeat(900),
      remediation: 'r'.repeat(500),
      references: ['CWE-306'],
    });
  }
  const r = buildReport({ ...base, services: [], findings });
  const bytes = encode(r);
  assert.ok(bytes.length <= MAX_EXPOSURE_BYTES, `${bytes.length} bytes`);
  assert.ok(r.scan.truncated);
  assert.ok(
    r.findings.every((f) => f.severity === 'high'),
    'low findings were dropped first',
  );
  assert.equal(decodeExposure(bytes), r);
  assert.is(r.score, scoreFindings(findings).score, 'the score still counts every finding');
});

test('the decoder refuses wrong versions, unknown keys, bad values and oversize payloads', () => {
  const good = sampleReport('gw-0002', rng(9), { now: base.ts });
  assert.is(
    code(() => decodeExposure(encode({ ...good, v: 2 }))),
    'PROTO_SCHEMA_VERSION',
  );
  assert.is(
    code(() => decodeExposure(encode({ ...good, extra: 1 }))),
    'PROTO_INVALID_MESSAGE',
  );
  assert.is(
    code(() => decodeExposure(encode({ ...good, score: 101 }))),
    'PROTO_INVALID_MESSAGE',
  );
  assert.is(
    code(() => decodeExposure(encode({ ...good, grade: 'E' }))),
    'PROTO_INVALID_MESSAGE',
  );
  assert.is(
    code(() => decodeExposure(encode({ ...good, deviceId: 'Bad Id' }))),
    'PROTO_INVALID_MESSAGE',
  );
  assert.is(
    code(() => decodeExposure(encode({ ...good, findings: [{ ...good.findings[0], check: 'NOT A CHECK' }] }))),
    'PROTO_INVALID_MESSAGE',
  );
  assert.is(
    code(() => decodeExposure(encode({ ...good, services: new Array(513).fill(good.services[0]) }))),
    'PROTO_INVALID_MESSAGE',
  );
  assert.is(
    code(() => decodeExposure(encode({ ...good, pad: 'x'.repeat(MAX_EXPOSURE_BYTES) }))),
    'PROTO_TOO_LARGE',
  );
  assert.is(
    code(() => decodeExposure(Buffer.from([0xa1, 0x61]))),
    'PROTO_BAD_CBOR',
  );
});

test.run();
