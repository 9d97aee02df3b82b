// What every answer of the HTTPS port carries and what never leaves a request: the security headers on every kind
// of response (routes, problems, 404s, health, errors Node's parser raises), no route that takes a credential in
// its URL, and no token, assertion or enrolment token in any log line, security event or audit record.
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fleetIdOf } from '../../broker/src/api/fleet-id.js';
import { createProof } from '../../broker/src/api/proof.js';
import { parseFleetConfig } from '../../broker/src/config.js';
import { createLogger } from '../../shared/src/index.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { addOperator, type TestOperator } from '../helpers/operators.js';
import {
  caOf,
  parseRawAnswer,
  type RawAnswer,
  rawExchange,
  type RawRequest,
  rawRequest,
  tokenFrom,
} from '../helpers/raw-https.js';

const SECURITY_HEADERS: Record<string, string> = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

let fleet: TestFleet;
let ca: Buffer;
let admin: TestOperator;
let viewer: TestOperator;
let adminToken: string;
const lines: string[] = [];
/** Every secret the test sends; none may be written anywhere. */
const secrets: string[] = [];

test.before(async () => {
  fleet = await createTestFleet(['gw-0001']);
  const log = createLogger({ level: 'debug', write: (line) => lines.push(line) });
  // A low per-operator limit so that a 429 is one of the answers checked.
  const config = parseFleetConfig({ api: { requestsPerMinutePerOperator: 40 } });
  await fleet.start({ config, log });
  ca = caOf(fleet.dataDir);
  admin = await addOperator(fleet.db, 'alice', 'admin');
  viewer = await addOperator(fleet.db, 'vera', 'viewer');
  adminToken = await tokenFrom(fleet.server.httpPort, ca, admin);
  secrets.push(adminToken);
});

test.after(async () => {
  await fleet?.close();
});

const send = (r: RawRequest) => rawRequest(fleet.server.httpPort, ca, r);

function headerFaults(what: string, headers: Record<string, unknown>): string[] {
  return Object.entries(SECURITY_HEADERS)
    .filter(([k, v]) => headers[k] !== v)
    .map(([k, v]) => `${what}: ${k} is ${String(headers[k])}, expected ${v}`);
}

test('every kind of answer carries the security headers', async () => {
  const viewerToken = await tokenFrom(fleet.server.httpPort, ca, viewer);
  const json = { 'content-type': 'application/json' };
  const assertion = await createProof({ privateKeyPem: admin.credential, kid: admin.kid, audience: fleetIdOf(ca) });
  const post = (path: string, body: string, more: Partial<RawRequest> = {}): RawRequest => ({
    path,
    method: 'POST',
    headers: json,
    body,
    ...more,
  });
  const cases: [string, number, RawRequest][] = [
    ['an API answer', 200, { path: '/api/v1/devices', token: adminToken }],
    ['healthz', 200, { path: '/healthz' }],
    ['metrics', 200, { path: '/metrics' }],
    ['the OpenAPI document', 200, { path: '/api/v1/openapi.json' }],
    ['a token', 201, post('/api/v1/auth/token', JSON.stringify({ assertion }))],
    ['a schema error', 400, { path: '/api/v1/devices?limit=x', token: adminToken }],
    ['a bad URL', 400, { path: '/api/v1/devices/%ZZ', token: adminToken }],
    ['a refused proof', 401, post('/api/v1/auth/token', JSON.stringify({ assertion: 'x'.repeat(40) }))],
    ['no token', 401, { path: '/api/v1/devices' }],
    ['a missing scope', 403, { path: '/api/v1/operators', token: viewerToken }],
    ['an unknown route', 404, { path: '/nowhere' }],
    ['HEAD', 404, { path: '/healthz', method: 'HEAD' }],
    ['an unknown device', 404, { path: '/api/v1/devices/gw-none', token: adminToken }],
    ['a body where none is taken', 413, post('/api/v1/devices/gw-0001/revoke', '{}', { token: adminToken })],
    ['a text body', 415, post('/api/v1/operators', 'x', { token: adminToken, headers: {} })],
    ['a refused enrolment', 400, post('/v1/enroll', '{}')],
  ];
  const faults: string[] = [];
  for (const [what, status, r] of cases) {
    const a = await send(r);
    if (a.status !== status) faults.push(`${what}: ${a.status}, expected ${status}`);
    faults.push(...headerFaults(what, a.headers));
    if (status === 201) secrets.push(assertion, String(a.json?.token));
  }
  // An operator over its limit (40 a minute here).
  let limited: RawAnswer | undefined;
  for (let i = 0; i < 60 && limited?.status !== 429; i++) {
    limited = await send({ path: '/api/v1/devices', token: viewerToken });
  }
  assert.is(limited?.status, 429);
  faults.push(...headerFaults('429', limited!.headers));
  // Answers Node's parser gives before fastify sees the request.
  for (const [what, status, bytes] of [
    ['headers too large', 431, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
    ['a malformed request', 400, 'GET /a b c HTTP/1.1\r\n\r\n'],
  ] as const) {
    const a = parseRawAnswer(await rawExchange(fleet.server.httpPort, ca, bytes));
    if (a.status !== status) faults.push(`${what}: ${a.status}, expected ${status}`);
    faults.push(...headerFaults(what, a.headers));
  }
  assert.equal(faults, []);
});

test('no route takes a credential in its URL, and a token in the query string authenticates nothing', async () => {
  const doc = (await send({ path: '/api/v1/openapi.json' })).json as {
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
  };
  const credential = /token|assertion|credential|secret|passw|key|auth|jwt|session|bearer|signature/i;
  const found = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).flatMap(([method, op]) =>
      (op.parameters ?? [])
        .filter((p) => (p.in === 'query' || p.in === 'path') && credential.test(p.name))
        .map((p) => `${method.toUpperCase()} ${path}: ${p.in} ${p.name}`),
    ),
  );
  assert.equal(found, []);
  for (const name of ['access_token', 'token', 'authorization']) {
    const a = await send({ path: `/api/v1/devices?${name}=${adminToken}` });
    assert.is(a.status, 401, name);
  }
});

test('no token, assertion or enrolment token appears in a log line, a security event or an audit record', async () => {
  const port = fleet.server.httpPort;
  const json = { 'content-type': 'application/json' };
  const fleetId = fleetIdOf(ca);
  const proof = (op: TestOperator, audience = fleetId) =>
    createProof({ privateKeyPem: op.credential, kid: op.kid, audience });

  // An assertion used twice (the second is a replay), one for another fleet, one of an unknown key.
  const once = await proof(admin);
  const other = await proof(admin, `urn:edgeward:fleet:${'0'.repeat(32)}`);
  secrets.push(once, other);
  for (const assertion of [once, once, other]) {
    await send({ path: '/api/v1/auth/token', method: 'POST', headers: json, body: JSON.stringify({ assertion }) });
  }
  const token = await tokenFrom(port, ca, admin);
  const viewerToken = await tokenFrom(port, ca, viewer);
  const [h, , s] = token.split('.') as [string, string, string];
  const tampered = `${h}.${Buffer.from('{"sub":"x"}').toString('base64url')}.${s}`;
  secrets.push(token, viewerToken, tampered);

  // Enrolment tokens: made through the API (shown once), one used, one guessed.
  const made = await send({
    path: '/api/v1/enrollment-tokens',
    method: 'POST',
    token,
    headers: json,
    body: JSON.stringify({ count: 2, ttlSeconds: 600, deviceType: 'default' }),
  });
  const enrolTokens = (made.json?.tokens ?? []) as string[];
  assert.is(enrolTokens.length, 2);
  const guessed = `ewt_${randomBytes(32).toString('base64url')}`;
  secrets.push(...enrolTokens, guessed);
  for (const t of [enrolTokens[0]!, guessed]) {
    await send({
      path: '/v1/enroll',
      method: 'POST',
      headers: json,
      body: JSON.stringify({ token: t, id: 'gw-new', csr: 'x' }),
    });
  }

  // Tokens where they do not belong: refused, and still never written down.
  const misplaced: RawRequest[] = [
    { path: '/api/v1/devices', token: tampered },
    { path: '/api/v1/operators', token: viewerToken },
    { path: `/api/v1/devices?access_token=${token}` },
    { path: `/api/v1/devices?cursor=${token}`, token },
    { path: `/api/v1/devices/${token}`, token },
    { path: `/api/v1/devices/${enrolTokens[1]}/revoke`, method: 'POST', token },
    // (An enrolment token is a well-formed operator name, so it would be recorded as the name asked for; twice over
    // it is too long to be one.)
    { path: `/api/v1/operators/${enrolTokens[1]}${enrolTokens[1]}/revoke`, method: 'POST', token },
    { path: `/api/v1/operators/${token.slice(0, 150)}/revoke`, method: 'POST', token },
    { path: `/${token}` },
    { path: '/api/v1/devices', method: 'POST', token, headers: json, body: JSON.stringify({ id: token, csr: token }) },
    {
      path: '/api/v1/operators',
      method: 'POST',
      token,
      headers: json,
      body: JSON.stringify({ name: 'x', role: 'viewer', publicKey: token }),
    },
    { path: '/api/v1/devices', headers: { authorization: token } },
    { path: '/api/v1/devices', headers: { authorization: `Basic ${token}` } },
    { path: '/api/v1/devices', headers: { cookie: `token=${token}`, 'x-api-key': token } },
  ];
  for (const r of misplaced) assert.ok((await send(r)).status >= 400, r.path);

  // The security event log may summarise repeats until the server stops: read everything after it has.
  await fleet.server.close();
  const tables = ['audit', 'operator_audit'].map((t) =>
    (fleet.db.prepare(`SELECT * FROM "${t}"`).all() as unknown[]).map((r) => `${t}: ${JSON.stringify(r)}`),
  );
  const written = [...lines, ...tables.flat()];
  assert.ok(written.length > 20, `only ${written.length} lines and records to search`);
  assert.ok(
    written.some((l) => l.includes('api.denied')),
    'no refusal was recorded: the search would prove nothing',
  );
  const leaks = new Set<string>();
  for (const secret of new Set(secrets)) {
    // Any 24 characters of the secret, so that a truncated or split copy is found too.
    const pieces = secret.split('.').filter((x) => x.length >= 24);
    for (const piece of pieces.length ? pieces : [secret]) {
      for (const l of written)
        if (l.includes(piece.slice(0, 24))) leaks.add(`${piece.slice(0, 12)}… in ${l.slice(0, 160)}`);
    }
  }
  assert.equal([...leaks], []);
});

test.run();
