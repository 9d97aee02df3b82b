// Bad input on every route, generated from the OpenAPI document (a route added later is covered without a change
// here): wrong types for each parameter and body property, extra query and body fields, bodies too large, not JSON
// or of another type, hostile path parameters. Each gets a 4xx problem document with a documented code, the
// database does not change (the audit trail and the security event log may grow), and the server keeps serving.
import { gzipSync } from 'node:zlib';
import { Ajv } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFleetConfig } from '../../broker/src/config.js';
import type { Db } from '../../broker/src/db/open.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { addOperator, apiClientFor } from '../helpers/operators.js';
import {
  caOf,
  documentedCodes,
  parseRawAnswer,
  problemFault,
  type RawAnswer,
  rawExchange,
  type RawRequest,
  rawRequest,
} from '../helpers/raw-https.js';

type Json = Record<string, unknown>;

interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required?: boolean;
  readonly schema: Json;
}

interface Operation {
  readonly method: string;
  /** The OpenAPI path, `{name}` for a parameter. */
  readonly path: string;
  readonly parameters: readonly Parameter[];
  readonly body: Json | undefined;
  /** The media types of a raw body (x-raw-body), for a route that takes one. */
  readonly raw: readonly string[] | undefined;
  readonly maxBody: number;
}

/** One hostile request and what must come back. */
interface Case {
  readonly what: string;
  readonly request: RawRequest;
  /** The exact status, when the case says which (otherwise any 4xx but 401, 403 and 429). */
  readonly status?: number;
  /** A problem's `errors` must name this path (`body/count`, `querystring/limit`, `params/id`). */
  readonly names?: string;
}

/** Tables any request may legitimately add to: the security event log and the operator audit trail. */
const LOGS = new Set(['audit', 'operator_audit']);

let fleet: TestFleet;
let token: string;
let ca: Buffer;
const codes = documentedCodes();
const ajv = new Ajv({ strict: false, allErrors: true });

test.before(async () => {
  fleet = await createTestFleet(['gw-0001']);
  // Generous limits: this file sends a few hundred requests and tests validation, not rate limits.
  const config = parseFleetConfig({
    api: { requestsPerMinutePerAddress: 100_000, requestsPerMinutePerOperator: 100_000 },
  });
  await fleet.start({ config });
  const admin = await addOperator(fleet.db, 'alice', 'admin');
  const client = apiClientFor(fleet.dataDir, fleet.server.httpPort, { credential: admin.credential });
  token = (await client.obtainToken()).token;
  client.close();
  ca = caOf(fleet.dataDir);
});

test.after(async () => {
  await fleet?.close();
});

const send = (r: RawRequest) => rawRequest(fleet.server.httpPort, ca, { token, ...r });

/** Every table but the two logs, row by row: what a refused request must leave as it was. */
function snapshot(db: Db): Map<string, string> {
  const tables = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
    .all() as { name: string }[];
  const out = new Map<string, string>();
  for (const { name } of tables) {
    if (LOGS.has(name)) continue;
    const rows = db
      .prepare(`SELECT * FROM "${name}"`)
      .all()
      .map((r) => JSON.stringify(r));
    out.set(name, rows.sort().join('\n'));
  }
  return out;
}

function operationsOf(doc: { paths: Record<string, Record<string, Json>> }): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const content = (op.requestBody as { content?: Record<string, { schema: Json }> } | undefined)?.content;
      const maxBody = op['x-max-body-bytes'];
      return {
        method: method.toUpperCase(),
        path,
        parameters: (op.parameters as Parameter[] | undefined) ?? [],
        body: content?.['application/json']?.schema,
        raw: op['x-raw-body'] as string[] | undefined,
        maxBody: typeof maxBody === 'number' ? maxBody : Number.NaN,
      };
    }),
  );
}

// ---- Valid samples: each hostile request changes one thing in an otherwise valid request, so the answer must
// name that one thing. A property whose value cannot be guessed can carry an `example` in its schema.

const STRING_CANDIDATES = ['gw-0001', 'alice', 'default', 'abc', '0123456789abcdef', 'x'.repeat(100)];

function sample(schema: Json): unknown {
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  const type = typeOf(schema);
  switch (type) {
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, Json>;
      const required = (schema.required ?? []) as string[];
      return Object.fromEntries(required.map((k) => [k, sample(props[k] ?? {})]));
    }
    default: {
      if (schema.format === 'date-time') return new Date().toISOString();
      const min = Number(schema.minLength ?? 1);
      const candidates = [...STRING_CANDIDATES, 'a'.repeat(Math.max(min, 1))];
      return candidates.find((c) => ajv.validate(schema, c)) ?? candidates[0];
    }
  }
}

function typeOf(schema: Json): string {
  const t = schema.type;
  if (Array.isArray(t)) return String(t.find((x) => x !== 'null') ?? 'string');
  return typeof t === 'string' ? t : 'string';
}

/** Values of another JSON type than the schema allows. */
function wrongTypes(schema: Json): unknown[] {
  const nullable = Array.isArray(schema.type) && schema.type.includes('null');
  const values: unknown[] = nullable ? [] : [null];
  switch (typeOf(schema)) {
    case 'integer':
      return [...values, '5', 1.5, true, [1]];
    case 'number':
      return [...values, '5', false, {}];
    case 'boolean':
      return [...values, 'true', 1, []];
    case 'array':
      return [...values, 'x', {}, 1];
    case 'object':
      return [...values, [], 'x', 1];
    default:
      return [...values, 12345, true, ['x'], { x: 1 }];
  }
}

/** Path parameter values a client might use to escape its route or confuse a parser, percent-encoded. */
function hostilePathValues(schema: Json): { what: string; value: string }[] {
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : 64;
  return [
    { what: 'unicode', value: encodeURIComponent('gw-ünïcödé') },
    { what: 'an emoji', value: '%F0%9F%92%A9%F0%9F%92%A9%F0%9F%92%A9' },
    { what: 'a right-to-left override', value: 'gw-%E2%80%AE1000' },
    { what: 'traversal', value: '..%2F..%2Fetc%2Fpasswd' },
    { what: 'encoded dots', value: '%2e%2e' },
    { what: 'a NUL byte', value: 'gw-0001%00' },
    { what: 'a lone NUL', value: '%00' },
    { what: 'invalid UTF-8', value: '%C3%28%FF' },
    { what: 'a broken escape', value: '%ZZ' },
    { what: 'an encoded slash', value: 'gw%2F0001' },
    { what: 'CR LF', value: 'gw-0001%0D%0AX-Injected:%201' },
    { what: 'one character over the maximum', value: 'a'.repeat(max + 1) },
    { what: 'over-long', value: 'a'.repeat(5000) },
    { what: 'empty', value: '' },
  ];
}

function pathWith(op: Operation, values: Record<string, string>): string {
  return op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? '');
}

/** `body` as JSON text with one more field whose value is written as is. */
function withRawField(body: unknown, name: string, raw: string): string {
  const text = JSON.stringify(body);
  return text === '{}' ? `{"${name}":${raw}}` : `${text.slice(0, -1)},"${name}":${raw}}`;
}

function casesFor(op: Operation): Case[] {
  const cases: Case[] = [];
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const validPath: Record<string, string> = Object.fromEntries(
    pathParams.map((p) => [p.name, encodeURIComponent(String(sample(p.schema)))]),
  );
  const path = pathWith(op, validPath);
  const validBody = op.body ? sample(op.body) : undefined;
  const json = (body: unknown) => ({
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const base = { method: op.method, ...(validBody === undefined ? {} : json(validBody)) };

  for (const p of pathParams) {
    for (const { what, value } of hostilePathValues(p.schema)) {
      cases.push({
        what: `path ${p.name}: ${what}`,
        request: { ...base, path: pathWith(op, { ...validPath, [p.name]: value }) },
      });
    }
  }

  const query = (q: string) => `${path}?${q}`;
  for (const p of queryParams) {
    const values: string[] = [];
    const type = typeOf(p.schema);
    if (type === 'integer' || type === 'number') values.push('abc', '1.5e999', '0x10');
    if (type === 'integer') values.push('1.5');
    if (type === 'boolean') values.push('maybe');
    if (Array.isArray(p.schema.enum)) values.push('not-one-of-them');
    if (type === 'string' && p.schema.pattern) {
      values.push(encodeURIComponent('é'.repeat(3)), '..%2F..%2F', '%00');
    }
    if (typeof p.schema.maxLength === 'number') values.push('a'.repeat(p.schema.maxLength + 1));
    for (const v of values) {
      cases.push({
        what: `query ${p.name}=${v.slice(0, 20)}`,
        request: { ...base, path: query(`${p.name}=${v}`) },
        status: 400,
        names: `querystring/${p.name}`,
      });
    }
    // Given twice: an array where one value belongs.
    const one = encodeURIComponent(String(sample(p.schema)));
    cases.push({
      what: `query ${p.name} twice`,
      request: { ...base, path: query(`${p.name}=${one}&${p.name}=${one}`) },
      status: 400,
      names: `querystring/${p.name}`,
    });
  }
  cases.push({
    what: 'an extra query field',
    request: { ...base, path: query('zz_extra=1') },
    status: 400,
    names: 'querystring',
  });
  cases.push({
    what: 'an extra query field like a token',
    request: { ...base, path: query(`access_token=${token}`) },
    status: 400,
    names: 'querystring',
  });

  if (op.body && validBody !== undefined) {
    const props = (op.body.properties ?? {}) as Record<string, Json>;
    for (const [name, schema] of Object.entries(props)) {
      for (const wrong of wrongTypes(schema)) {
        cases.push({
          what: `body ${name}: ${JSON.stringify(wrong)}`,
          request: { method: op.method, path, ...json({ ...(validBody as Json), [name]: wrong }) },
          status: 400,
          names: `body/${name}`,
        });
      }
    }
    const bodyCase = (what: string, r: Partial<RawRequest>, status: number, names?: string): Case => ({
      what,
      request: { method: op.method, path, ...r },
      status,
      ...(names ? { names } : {}),
    });
    cases.push(
      bodyCase('an extra body field', json({ ...(validBody as Json), zz_extra: 1 }), 400, 'body'),
      bodyCase('an array body', json([validBody]), 400, 'body'),
      bodyCase('a string body', json('x'), 400, 'body'),
      bodyCase('a null body', json(null), 400, 'body'),
      bodyCase(
        'a deeply nested extra field',
        {
          headers: { 'content-type': 'application/json' },
          body: withRawField(validBody, 'zz', `${'['.repeat(4000)}${']'.repeat(4000)}`),
        },
        400,
        'body',
      ),
      bodyCase(
        '__proto__ in the body',
        {
          headers: { 'content-type': 'application/json' },
          body: `{"__proto__":{"admin":true},${JSON.stringify(validBody).slice(1)}`,
        },
        400,
      ),
      bodyCase(
        'constructor.prototype in the body',
        {
          headers: { 'content-type': 'application/json' },
          body: `{"constructor":{"prototype":{"admin":true}},${JSON.stringify(validBody).slice(1)}`,
        },
        400,
      ),
      bodyCase('a body that is not JSON', { headers: { 'content-type': 'application/json' }, body: '{"a":' }, 400),
      bodyCase('an empty JSON body', { headers: { 'content-type': 'application/json' }, body: '' }, 400),
      bodyCase(
        'a text/plain body',
        { headers: { 'content-type': 'text/plain' }, body: JSON.stringify(validBody) },
        415,
      ),
      bodyCase('a form body', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' }, 415),
      bodyCase(
        'a multipart body',
        {
          headers: { 'content-type': 'multipart/form-data; boundary=x' },
          body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n',
        },
        415,
      ),
      bodyCase('a body without a content type', { body: JSON.stringify(validBody) }, 415),
      bodyCase('a malformed content type', { headers: { 'content-type': 'application/json;;;=' }, body: '{}' }, 415),
      bodyCase(
        'a gzip body',
        {
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          body: gzipSync(JSON.stringify(validBody)),
        },
        415,
      ),
    );
  }

  if (op.raw) return [...cases, ...rawBodyCases(op, path, op.raw)];
  // Bodies above the route's limit (0 for a route that takes none), announced and chunked.
  const limit = op.maxBody;
  const huge = `{"zz":"${'a'.repeat(limit + 16)}"}`;
  cases.push(
    {
      what: `a body above the limit (${limit} bytes)`,
      request: { method: op.method, path, headers: { 'content-type': 'application/json' }, body: huge },
      status: 413,
    },
    {
      what: 'a chunked body above the limit',
      request: { method: op.method, path, headers: { 'content-type': 'application/json' }, body: huge, chunked: true },
      status: 413,
    },
  );
  if (!op.body) {
    cases.push(
      {
        what: 'a JSON body on a route that takes none',
        request: { method: op.method, path, ...json({ zz: 1 }) },
        status: 413,
      },
      {
        what: 'a text body on a route that takes none',
        request: { method: op.method, path, headers: { 'content-type': 'text/plain' }, body: 'x' },
        status: 413,
      },
    );
  }
  return cases;
}

/**
 * A route that takes a raw body (a firmware bundle, a trust document): other media types, compression, a body
 * above its limit (announced; and chunked where the limit is small enough to send), bytes that are not what it
 * takes (refused by the verifier, or for want of a trust document).
 */
function rawBodyCases(op: Operation, path: string, types: readonly string[]): Case[] {
  const type = types[0]!;
  const limit = op.maxBody;
  const cases: Case[] = [
    { what: 'a JSON body', request: { method: op.method, path, ...jsonBody({ zz: 1 }) }, status: 415 },
    {
      what: 'a text body',
      request: { method: op.method, path, headers: { 'content-type': 'text/plain' }, body: 'x' },
      status: 415,
    },
    {
      what: 'a gzip body',
      request: {
        method: op.method,
        path,
        headers: { 'content-type': type, 'content-encoding': 'gzip' },
        body: gzipSync('x'),
      },
      status: 415,
    },
    { what: 'a raw body without a content type', request: { method: op.method, path, body: 'x' }, status: 415 },
    {
      what: `a body announced above the limit (${limit} bytes)`,
      request: { method: op.method, path, headers: { 'content-type': type, 'content-length': limit + 1 }, body: 'x' },
      status: 413,
    },
    {
      what: 'bytes that are not what the route takes',
      request: { method: op.method, path, headers: { 'content-type': type }, body: Buffer.from('not a bundle') },
    },
  ];
  if (limit <= 1024 * 1024) {
    cases.push({
      what: 'a chunked body above the limit',
      request: {
        method: op.method,
        path,
        headers: { 'content-type': type },
        body: 'a'.repeat(limit + 16),
        chunked: true,
      },
      status: 413,
    });
  }
  return cases;
}

const jsonBody = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('every operation in the document states its body limit', async () => {
  const doc = (await send({ path: '/api/v1/openapi.json' })).json as never;
  const ops = operationsOf(doc);
  assert.ok(ops.length >= 10, `only ${ops.length} operations in the document`);
  const missing = ops.filter((o) => !Number.isInteger(o.maxBody)).map((o) => `${o.method} ${o.path}`);
  assert.equal(missing, [], 'operations without x-max-body-bytes');
  for (const o of ops) {
    const takesNone = o.body === undefined && o.raw === undefined;
    assert.is(o.maxBody === 0, takesNone, `${o.method} ${o.path}: limit ${o.maxBody}`);
  }
});

test('every hostile request on every route: a 4xx problem with a documented code, and nothing changes', async () => {
  const doc = (await send({ path: '/api/v1/openapi.json' })).json as never;
  const before = snapshot(fleet.db);
  const wrong: string[] = [];
  let sent = 0;
  for (const op of operationsOf(doc)) {
    for (const c of casesFor(op)) {
      let a: RawAnswer;
      try {
        a = await send(c.request);
      } catch (err) {
        wrong.push(`${op.method} ${op.path} ${c.what}: ${(err as Error).message}`);
        continue;
      }
      sent++;
      const fault = problemFault(a, codes) || expectationFault(c, a);
      if (fault) wrong.push(`${op.method} ${op.path} ${c.what}: ${fault}`);
    }
  }
  assert.equal(wrong, [], `${wrong.length} of ${sent} answers were wrong`);
  assert.ok(sent > 200, `only ${sent} requests`);
  const after = snapshot(fleet.db);
  const changed = [...before.keys()].filter((t) => before.get(t) !== after.get(t));
  assert.equal(changed, [], 'tables changed by refused requests');
  assert.is((await send({ path: '/healthz' })).status, 200);
});

function expectationFault(c: Case, a: RawAnswer): string {
  if (c.status !== undefined && a.status !== c.status)
    return `${a.status} (${String(a.json?.code)}), expected ${c.status}`;
  if ([401, 403, 429].includes(a.status)) return `${a.status}: ${String(a.json?.detail)}`;
  if (c.names) {
    const paths = ((a.json?.errors ?? []) as { path: string }[]).map((e) => e.path);
    if (!paths.some((p) => p === c.names || p.startsWith(`${c.names}/`)))
      return `errors name ${paths.join(', ') || 'nothing'}, not ${c.names}`;
  }
  return '';
}

// ---- How fastify's router and Node's parser treat odd requests: decided, then pinned here.

test('HEAD, OPTIONS and unknown methods are not routes: 404 problem, never the GET answer', async () => {
  for (const method of ['HEAD', 'OPTIONS', 'PUT', 'PATCH', 'DELETE', 'TRACE']) {
    const a = await send({ method, path: '/api/v1/devices' });
    assert.is(a.status, 404, method);
    if (method === 'HEAD') assert.is(a.text, '');
    else assert.is(problemFault(a, codes), '', method);
    assert.ok(String(a.headers['content-type']).startsWith('application/problem+json'), method);
  }
});

test('paths are exact: trailing or doubled slashes, other case, dot segments, path parameters: no route', async () => {
  for (const path of [
    '/api/v1/devices/gw-0001/',
    '/api/v1//devices',
    '//api/v1/devices',
    '/API/v1/devices',
    '/api/v1/Devices',
    '/api/v1/./devices',
    '/api/v1/operators/../devices',
    '/api/v1/devices;x=1',
    '/api/v1%2Fdevices',
    '/healthz/',
    '/api/v1/openapi.json/',
  ]) {
    const a = await send({ path });
    assert.is(problemFault(a, codes), '', path);
    assert.ok(a.status === 404 || a.status === 400, `${path}: ${a.status}`);
  }
});

test('requests Node refuses to parse get a problem document, not a bare error, and the connection closes', async () => {
  const port = fleet.server.httpPort;
  for (const [what, bytes] of [
    [
      'raw non-ASCII bytes in the path',
      Buffer.from('GET /api/v1/devices/gw-\u00fc HTTP/1.1\r\nHost: x\r\n\r\n', 'utf8'),
    ],
    ['a space in the path', 'GET /api/v1/devices/gw 0001 HTTP/1.1\r\nHost: x\r\n\r\n'],
    [
      'both Content-Length and chunked',
      'POST /api/v1/devices HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    ['a bad Content-Length', 'POST /api/v1/devices HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n'],
    [
      'two Content-Lengths',
      'POST /api/v1/devices HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}',
    ],
    ['a header without a colon', 'GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n'],
    ['HTTP/2 preface on HTTP/1.1', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
    ['not HTTP at all', '\x16\x03\x01garbage\r\n\r\n'],
  ] as const) {
    const raw = await rawExchange(port, ca, bytes);
    const a = parseRawAnswer(raw);
    assert.is(a.status, 400, `${what}: ${raw.slice(0, 120)}`);
    assert.ok(a.headers['content-type']?.startsWith('application/problem+json'), `${what}: ${raw.slice(0, 200)}`);
    assert.is((JSON.parse(a.body) as { code: string }).code, 'API_INVALID_REQUEST', what);
    assert.is(a.headers['x-content-type-options'], 'nosniff', what);
  }
  assert.is((await send({ path: '/healthz' })).status, 200);
});

test.run();
