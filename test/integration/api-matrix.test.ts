// The route × caller matrix of the operator API: every route of the OpenAPI document, called by each role and by
// tokens that must fail (none, expired, tampered, another fleet's, a revoked operator's, a narrowed scope, another
// device). The expected statuses are written out below, not derived from the code under test; a route in the
// document without a row here (or a row without a route) fails the test.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiClient } from '../../broker/src/admin/api-client.js';
import { fleetIdOf } from '../../broker/src/api/fleet-id.js';
import { createAuditRuns } from '../../broker/src/db/audit-runs.js';
import { createCommandStore } from '../../broker/src/db/commands.js';
import { createRolloutStore } from '../../broker/src/db/rollouts.js';
import { newCommandBody, signCommand } from '../../shared/src/commands/index.js';
import { parsePrivateKeyPem } from '../../shared/src/index.js';
import { ROLE_NAMES, type Role } from '../../broker/src/api/roles.js';
import { createCsr, generateKeyPair as generateP256 } from '../../shared/src/x509.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { addOperator, apiClientFor, type TestOperator } from '../helpers/operators.js';
import { insertRelease } from '../helpers/rollout-devices.js';

type Caller = Role | 'none' | 'expired' | 'tampered' | 'foreign' | 'revoked' | 'narrowed' | 'other-device';
const CALLERS: readonly Caller[] = [
  ...ROLE_NAMES,
  'none',
  'expired',
  'tampered',
  'foreign',
  'revoked',
  'narrowed',
  'other-device',
];

interface Call {
  readonly path: string;
  readonly body?: unknown;
}

/** What each caller gets. Columns: viewer operator release-manager admin | none expired tampered foreign revoked
 * narrowed (an admin token with only events:read) other-device (an admin token limited to another device). */
type Row = readonly [number, number, number, number, number, number, number, number, number, number, number];

interface Rule {
  readonly call: (c: Ctx, who: Caller) => Call | Promise<Call>;
  readonly expect: Row;
}

interface Ctx {
  readonly fleet: TestFleet;
  /** A device of this caller's own, for routes that change or revoke one. */
  device(who: Caller): Promise<string>;
  /** A command envelope for gw-0001 signed with the key behind the caller's token, with a reserved counter. */
  envelope(who: Caller): string;
  /** A rollout of its own for the caller, on a device of its own, running or paused. */
  rollout(who: Caller, state: 'running' | 'paused'): Promise<number>;
}

/** The release the rollout rows roll out (a row put in the database). */
let RELEASE = '';

/** A command queued before the matrix runs, on gw-0001 (so a token limited to gw-other cannot see it). */
const QUEUED_COMMAND = 'matrix-cmd-0001';

const csrFor = async (id: string) => createCsr(id, await generateP256());
const badAssertion = `${Buffer.from('{"alg":"EdDSA"}').toString('base64url')}.e30.${'A'.repeat(86)}`;

const RULES: Record<string, Rule> = {
  // expect: viewer, operator, release-manager, admin | none, expired, tampered, foreign, revoked, narrowed, other
  'GET /healthz': {
    call: () => ({ path: '/healthz' }),
    expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200],
  },
  'GET /readyz': {
    call: () => ({ path: '/readyz' }),
    expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200],
  },
  'GET /metrics': {
    call: () => ({ path: '/metrics' }),
    expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200],
  },
  'POST /v1/enroll': {
    call: () => ({ path: '/v1/enroll', body: { extra: 1 } }),
    expect: [400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400],
  },
  'GET /api/v1/openapi.json': {
    call: () => ({ path: '/api/v1/openapi.json' }),
    expect: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200],
  },
  'POST /api/v1/auth/token': {
    call: () => ({ path: '/api/v1/auth/token', body: { assertion: badAssertion } }),
    expect: [401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401],
  },
  'GET /api/v1/devices': {
    call: () => ({ path: '/api/v1/devices' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 200],
  },
  'GET /api/v1/devices/{id}': {
    call: () => ({ path: '/api/v1/devices/gw-0001' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'POST /api/v1/devices': {
    call: async (_c, who) => {
      const id = `gw-new-${who}`;
      return { path: '/api/v1/devices', body: { id, csr: await csrFor(id) } };
    },
    expect: [403, 403, 403, 201, 401, 401, 401, 401, 401, 403, 403],
  },
  'POST /api/v1/devices/{id}/renew': {
    call: async (c, who) => {
      const id = await c.device(who);
      return { path: `/api/v1/devices/${id}/renew`, body: { csr: await csrFor(id) } };
    },
    expect: [403, 403, 403, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'POST /api/v1/devices/{id}/revoke': {
    call: async (c, who) => ({ path: `/api/v1/devices/${await c.device(who)}/revoke` }),
    expect: [403, 403, 403, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/operators': {
    call: () => ({ path: '/api/v1/operators' }),
    expect: [403, 403, 403, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'POST /api/v1/operators': {
    call: async (_c, who) => {
      const { publicKey } = generateKeyPairSync('ed25519');
      return {
        path: '/api/v1/operators',
        body: {
          name: `op-${who}`,
          role: 'viewer',
          publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        },
      };
    },
    expect: [403, 403, 403, 201, 401, 401, 401, 401, 401, 403, 403],
  },
  'POST /api/v1/operators/{name}/revoke': {
    call: () => ({ path: '/api/v1/operators/nobody-here/revoke' }),
    expect: [403, 403, 403, 404, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/events': {
    call: () => ({ path: '/api/v1/events' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 200, 200],
  },
  'GET /api/v1/audit': {
    call: () => ({ path: '/api/v1/audit' }),
    expect: [403, 403, 403, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'POST /api/v1/enrollment-tokens': {
    call: () => ({ path: '/api/v1/enrollment-tokens', body: { count: 1, ttlSeconds: 600, deviceType: 'default' } }),
    expect: [403, 403, 403, 201, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/devices/{id}/telemetry': {
    call: () => ({ path: '/api/v1/devices/gw-0001/telemetry?from=2020-01-01T00:00:00Z&limit=10' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  // Fleet-wide lists: a token limited to another device gets that device's rows only (none here).
  'GET /api/v1/telemetry': {
    call: () => ({ path: '/api/v1/telemetry?from=2020-01-01T00:00:00Z&limit=10' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 200],
  },
  'GET /api/v1/reports': {
    call: () => ({ path: '/api/v1/reports?from=2020-01-01T00:00:00Z&limit=10' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 200],
  },
  'GET /api/v1/devices/{id}/report': {
    call: () => ({ path: '/api/v1/devices/gw-0001/report?history=5' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  // A dashboard session is a cookie; a bearer token has none to end (400).
  'GET /api/v1/session': {
    call: () => ({ path: '/api/v1/session' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 200],
  },
  'POST /api/v1/session/logout': {
    call: () => ({ path: '/api/v1/session/logout' }),
    expect: [400, 400, 400, 400, 401, 401, 401, 401, 401, 403, 400],
  },
  'POST /api/v1/dashboard/links': {
    call: () => ({ path: '/api/v1/dashboard/links' }),
    expect: [201, 201, 201, 201, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/overview': {
    call: () => ({ path: '/api/v1/overview' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/telemetry/hourly': {
    call: () => ({ path: '/api/v1/telemetry/hourly?hours=3' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/events/hourly': {
    call: () => ({ path: '/api/v1/events/hourly' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 200, 403],
  },
  'GET /api/v1/posture': {
    call: () => ({ path: '/api/v1/posture?worst=3' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/posture/history': {
    call: () => ({ path: '/api/v1/posture/history?resolution=hour' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  // Reading and running the fleet audit both need events:read, which the narrowed token carries.
  'GET /api/v1/fleet-audit': {
    call: () => ({ path: '/api/v1/fleet-audit' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 200, 403],
  },
  'POST /api/v1/fleet-audit': {
    call: () => ({ path: '/api/v1/fleet-audit' }),
    expect: [201, 201, 201, 201, 401, 401, 401, 401, 401, 201, 403],
  },
  // Not fleet-wide: a token limited to some devices reserves counters for commands to them.
  'POST /api/v1/commands/counter': {
    call: () => ({ path: '/api/v1/commands/counter' }),
    expect: [403, 200, 200, 200, 401, 401, 401, 401, 401, 403, 200],
  },
  'POST /api/v1/devices/{id}/commands': {
    call: (c, who) => ({ path: '/api/v1/devices/gw-0001/commands', body: { envelope: c.envelope(who) } }),
    expect: [403, 201, 201, 201, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/commands': {
    call: () => ({ path: '/api/v1/commands?limit=5' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 200],
  },
  'GET /api/v1/devices/{id}/commands': {
    call: () => ({ path: '/api/v1/devices/gw-0001/commands' }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  // The command is on gw-0001: a token limited to gw-other is told there is no such command.
  'GET /api/v1/commands/{cmdId}': {
    call: () => ({ path: `/api/v1/commands/${QUEUED_COMMAND}` }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 404],
  },
  'GET /api/v1/commands/{cmdId}/acks': {
    call: () => ({ path: `/api/v1/commands/${QUEUED_COMMAND}/acks` }),
    expect: [200, 200, 200, 200, 401, 401, 401, 401, 401, 403, 404],
  },
  // Rollouts: release-manager and admin only, every route, reading included; fleet-wide.
  'POST /api/v1/rollouts': {
    call: async (c, who) => ({
      path: '/api/v1/rollouts',
      body: { releaseId: RELEASE, selector: `ids:${await c.device(who)}`, minWaitMs: 3_600_000 },
    }),
    expect: [403, 403, 201, 201, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/rollouts': {
    call: () => ({ path: '/api/v1/rollouts' }),
    expect: [403, 403, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/rollouts/{id}': {
    call: async (c, who) => ({ path: `/api/v1/rollouts/${await c.rollout(who, 'running')}?devices=true` }),
    expect: [403, 403, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'POST /api/v1/rollouts/{id}/pause': {
    call: async (c, who) => ({ path: `/api/v1/rollouts/${await c.rollout(who, 'running')}/pause` }),
    expect: [403, 403, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'POST /api/v1/rollouts/{id}/resume': {
    call: async (c, who) => ({ path: `/api/v1/rollouts/${await c.rollout(who, 'paused')}/resume` }),
    expect: [403, 403, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'POST /api/v1/rollouts/{id}/abort': {
    call: async (c, who) => ({ path: `/api/v1/rollouts/${await c.rollout(who, 'running')}/abort` }),
    expect: [403, 403, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  // Firmware: releases:write, fleet-wide. The raw-body routes get a JSON body here, which those allowed to call
  // them see refused as the wrong media type (releases.test.ts publishes real bundles).
  'PUT /api/v1/trust': {
    call: () => ({ path: '/api/v1/trust', body: { document: 'x' } }),
    expect: [403, 403, 415, 415, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/trust': {
    call: () => ({ path: '/api/v1/trust' }),
    expect: [403, 403, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'POST /api/v1/releases': {
    call: () => ({ path: '/api/v1/releases', body: { bundle: 'x' } }),
    expect: [403, 403, 415, 415, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/releases': {
    call: () => ({ path: '/api/v1/releases' }),
    expect: [403, 403, 200, 200, 401, 401, 401, 401, 401, 403, 403],
  },
  'GET /api/v1/releases/{id}': {
    call: () => ({ path: '/api/v1/releases/0123abcd' }),
    expect: [403, 403, 404, 404, 401, 401, 401, 401, 401, 403, 403],
  },
};

let fleet: TestFleet;
const tokens = new Map<Caller, string | undefined>();
/** Whose key is behind each caller's token (the roles' operators; the admin's for the limited tokens). */
const signers = new Map<Caller, TestOperator>();
let raw: ApiClient;
const clients: ApiClient[] = [];

/** The status of one call made with `token`, or with no Authorization header at all. */
async function statusOf(method: string, call: Call, token: string | undefined): Promise<number> {
  if (!token) return fetchRaw(method, call);
  const client = apiClientFor(fleet.dataDir, fleet.server.httpPort, { token });
  clients.push(client);
  return (await client.exchange(method, call.path, call.body)).status;
}

/** Without any Authorization header (the API client always sends its token). */
async function fetchRaw(method: string, call: Call): Promise<number> {
  const ca = readFileSync(join(fleet.dataDir, 'pki', 'ca.crt'));
  const body = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
  return new Promise((resolve, reject) => {
    const req = request(
      `https://127.0.0.1:${fleet.server.httpPort}${call.path}`,
      { method, ca, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test.before(async () => {
  fleet = await createTestFleet(['gw-0001', 'gw-other']);
  const server = await fleet.start();
  const ops = new Map<string, TestOperator>();
  for (const role of ROLE_NAMES) ops.set(role, await addOperator(fleet.db, `${role}-1`, role));
  const admin = ops.get('admin')!;
  const mallory = await addOperator(fleet.db, 'mallory', 'admin');
  const token = async (op: TestOperator, req?: Parameters<typeof apiClientFor>[3]) => {
    const c = apiClientFor(fleet.dataDir, server.httpPort, { credential: op.credential }, req);
    clients.push(c);
    return (await c.obtainToken()).token;
  };
  for (const role of ROLE_NAMES) tokens.set(role, await token(ops.get(role)!));
  for (const who of CALLERS) signers.set(who, ops.get(who) ?? admin);
  const now = Date.now();
  const commands = createCommandStore(fleet.db);
  commands.add({
    id: QUEUED_COMMAND,
    deviceId: 'gw-0001',
    command: 'reboot',
    params: {},
    operator: admin.kid,
    counter: commands.nextCounter(admin.kid),
    envelope: Buffer.from('not relayed: the device is offline'),
    createdAt: now,
    expiresAt: now + 3600_000,
  });
  createAuditRuns(fleet.db).save([], now);
  RELEASE = insertRelease(fleet.db);
  tokens.set('none', undefined);
  tokens.set('expired', await token(admin, { ttlSeconds: 1 }));
  const good = await token(admin);
  const [h, p, s] = good.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  tokens.set(
    'tampered',
    `${h}.${Buffer.from(JSON.stringify({ ...claims, name: 'mallory' })).toString('base64url')}.${s}`,
  );
  const foreignKey = generateKeyPairSync('ed25519').privateKey;
  const fleetId = fleetIdOf(readFileSync(join(fleet.dataDir, 'pki', 'ca.crt')));
  tokens.set(
    'foreign',
    await new SignJWT({ role: 'admin', scope: claims.scope, oid: claims.oid, name: claims.name })
      .setProtectedHeader({ alg: 'EdDSA', kid: randomBytes(8).toString('hex'), typ: 'at+jwt' })
      .setIssuer(fleetId)
      .setAudience(fleetId)
      .setSubject(String(claims.sub))
      .setIssuedAt()
      .setExpirationTime('10m')
      .setJti('foreign-token-1')
      .sign(foreignKey),
  );
  tokens.set('revoked', await token(mallory));
  raw = apiClientFor(fleet.dataDir, server.httpPort, { token: tokens.get('admin')! });
  clients.push(raw);
  await raw.call('POST', '/api/v1/operators/mallory/revoke');
  tokens.set('narrowed', await token(admin, { scopes: ['events:read'] }));
  tokens.set('other-device', await token(admin, { devices: ['gw-other'] }));
  await new Promise((r) => setTimeout(r, 2100)); // the 1 s token is now expired
});

test.after(async () => {
  for (const c of clients) c.close();
  await fleet.close();
});

test('every route in the OpenAPI document has a row here, and every row a route', async () => {
  const doc = await raw.call<{ paths: Record<string, Record<string, unknown>> }>('GET', '/api/v1/openapi.json');
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
  );
  assert.equal(documented.sort(), Object.keys(RULES).sort());
});

test('docs/operator-api.md lists every route of the API with the scope the document states', async () => {
  const doc = await raw.call<{
    paths: Record<string, Record<string, { security?: { bearerAuth?: string[] }[] }>>;
  }>('GET', '/api/v1/openapi.json');
  const documented = Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/api/v1/'))
    .flatMap(([path, ops]) =>
      Object.entries(ops).map(([m, op]) => `${m.toUpperCase()} ${path} ${op.security?.[0]?.bearerAuth?.[0] ?? '—'}`),
    );
  const page = readFileSync(new URL('../../docs/operator-api.md', import.meta.url), 'utf8');
  const listed = [...page.matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE)` \| `([^`]+)` \| `?([^`|]+?)`? \|/gm)].map(
    (m) => `${m[1]} ${m[2]} ${m[3]}`,
  );
  assert.equal(listed.sort(), documented.sort());
});

test('each caller gets the written-out status on each route', async () => {
  const wrong: string[] = [];
  let n = 0;
  const provisioned = new Map<string, string>();
  const ctx: Ctx = {
    fleet,
    async device(who) {
      const id = `gw-x-${who}-${n++}`;
      if (!provisioned.has(id)) provisioned.set(id, await fleet.addDevice(id));
      return id;
    },
    async rollout(who, state) {
      const store = createRolloutStore(fleet.db);
      const id = store.create({ releaseId: RELEASE, selector: `ids:${await ctx.device(who)}` }, 'test', Date.now());
      if (state === 'paused') store.transition(id, 'pause', Date.now());
      return id;
    },
    envelope(who) {
      const signer = signers.get(who)!;
      const { secretKey } = parsePrivateKeyPem(signer.credential);
      const counter = createCommandStore(fleet.db).nextCounter(signer.kid);
      const body = newCommandBody({ deviceId: 'gw-0001', command: 'reboot', params: {}, counter });
      return signCommand(body, secretKey).toString('base64');
    },
  };
  for (const [route, rule] of Object.entries(RULES)) {
    const method = route.split(' ')[0]!;
    for (const [i, who] of CALLERS.entries()) {
      const call = await rule.call(ctx, who);
      const got = await statusOf(method, call, tokens.get(who));
      if (got !== rule.expect[i]) wrong.push(`${route} as ${who}: ${got}, expected ${rule.expect[i]}`);
    }
  }
  assert.equal(wrong, []);
});

test('every refused token is a security event with its reason', async () => {
  const events = await raw.call<{ items: { event: string; detail: { reason: string } }[] }>(
    'GET',
    '/api/v1/events?event=api.denied&limit=1000',
  );
  const reasons = new Set(events.items.map((e) => e.detail.reason));
  for (const r of [
    'no-token',
    'expired',
    'bad-signature',
    'unknown-key',
    'operator-revoked',
    'scope',
    'device',
    'fleet-wide',
  ]) {
    assert.ok(reasons.has(r), `no api.denied event with reason ${r}: ${[...reasons].join(', ')}`);
  }
});

test.run();
