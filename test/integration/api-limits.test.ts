// The operator API's limits, set low through the server configuration file: requests per source address and per
// operator answer 429 with Retry-After and a problem document, and a 429 is never counted against an honest
// caller from another address or another operator; the body size limit comes from the same file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadFleetConfig } from '../../broker/src/config.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { addOperator, type TestOperator } from '../helpers/operators.js';
import {
  caOf,
  documentedCodes,
  problemFault,
  type RawAnswer,
  type RawRequest,
  rawRequest,
  tokenFrom,
} from '../helpers/raw-https.js';
import { tmpDir } from '../helpers/tmp.js';

const PER_ADDRESS = 10;
const PER_OPERATOR = 6;
const MAX_BODY = 20_000;

let fleet: TestFleet;
let ca: Buffer;
const ops = new Map<string, TestOperator>();
const codes = documentedCodes();

test.before(async () => {
  fleet = await createTestFleet(['gw-0001']);
  const file = join(tmpDir(), 'fleet.json');
  writeFileSync(
    file,
    JSON.stringify({
      api: {
        requestsPerMinutePerAddress: PER_ADDRESS,
        requestsPerMinutePerOperator: PER_OPERATOR,
        maxBodyBytes: MAX_BODY,
      },
    }),
  );
  await fleet.start({ config: loadFleetConfig(file) });
  ca = caOf(fleet.dataDir);
  for (const name of ['alice', 'bob', 'carol']) ops.set(name, await addOperator(fleet.db, name, 'admin'));
});

test.after(async () => {
  await fleet?.close();
});

const send = (r: RawRequest) => rawRequest(fleet.server.httpPort, ca, r);
const token = (name: string, from: string) => tokenFrom(fleet.server.httpPort, ca, ops.get(name)!, from);
const devices = (from: string, t?: string) =>
  send({ path: '/api/v1/devices', localAddress: from, ...(t ? { token: t } : {}) });

function assertThrottled(a: RawAnswer, what: string): void {
  assert.is(a.status, 429, `${what}: ${a.status} ${a.text}`);
  assert.is(problemFault(a, codes), '', what);
  assert.is(a.json?.code, 'API_RATE_LIMITED', what);
  const retry = Number(a.headers['retry-after']);
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `${what}: Retry-After ${a.headers['retry-after']}`);
  assert.is(a.headers['cache-control'], 'no-store', what);
}

test('per address: a flood of requests without a token gets 429 before any token is checked', async () => {
  const flood = '127.0.0.2';
  for (let i = 0; i < PER_ADDRESS; i++) assert.is((await devices(flood)).status, 401, `request ${i + 1}`);
  assertThrottled(await devices(flood), 'over the address limit, no token');
  // Unknown routes count too, and health checks are exempt (a monitor must not be cut off, nor eat the budget).
  assertThrottled(await send({ path: '/no/such/route', localAddress: flood }), 'an unknown route');
  assert.is((await send({ path: '/healthz', localAddress: flood })).status, 200);
  // Another address is not affected.
  assert.is((await devices('127.0.0.3', await token('alice', '127.0.0.3'))).status, 200);
});

test('an address over its limit: its refused requests do not count against the operator using it', async () => {
  const flood = '127.0.0.4';
  const home = '127.0.0.5';
  const bob = await token('bob', home);
  for (let i = 0; i < PER_ADDRESS; i++) await send({ path: '/no/such/route', localAddress: flood });
  for (let i = 0; i < 3 * PER_OPERATOR; i++) assertThrottled(await devices(flood, bob), `bob from the flooded address`);
  // Bob's whole budget is still there from elsewhere.
  for (let i = 0; i < PER_OPERATOR; i++) assert.is((await devices(home, bob)).status, 200, `bob's request ${i + 1}`);
  assertThrottled(await devices(home, bob), 'bob over his own limit');
});

test('per operator: over its limit from any address, while another operator at its address is served', async () => {
  const shared = '127.0.0.6';
  const carol = await token('carol', shared);
  const alice = await token('alice', '127.0.0.7');
  for (let i = 0; i < PER_OPERATOR; i++) assert.is((await devices(shared, carol)).status, 200, `carol ${i + 1}`);
  const over = await devices(shared, carol);
  assertThrottled(over, 'carol over her limit');
  assert.match(String(over.json?.detail), /carol/);
  assertThrottled(await devices('127.0.0.8', carol), 'carol from another address');
  // Alice at carol's address: carol's 429s were not counted against her (or the address: 1 + 8 + 1 < 10).
  assert.is((await devices(shared, alice)).status, 200);
});

test('the body limit comes from the configuration: published in the document and enforced', async () => {
  const from = '127.0.0.9';
  const t = await token('alice', from);
  const doc = (await send({ path: '/api/v1/openapi.json', localAddress: from })).json as {
    paths: Record<string, Record<string, { 'x-max-body-bytes'?: number }>>;
  };
  assert.is(doc.paths['/api/v1/operators']?.post?.['x-max-body-bytes'], MAX_BODY);
  assert.is(doc.paths['/v1/enroll']?.post?.['x-max-body-bytes'], 16 * 1024);
  const body = JSON.stringify({ name: 'dave', role: 'viewer', publicKey: 'x'.repeat(MAX_BODY) });
  const a = await send({
    method: 'POST',
    path: '/api/v1/operators',
    token: t,
    localAddress: from,
    headers: { 'content-type': 'application/json' },
    body,
  });
  assert.is(a.status, 413);
  assert.is(a.json?.code, 'API_BODY_TOO_LARGE');
});

test.run();
