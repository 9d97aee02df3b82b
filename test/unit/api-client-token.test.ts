// The API client renews a token it obtained with the credential before the token ends, and once after a 401
// (a refusal before the route ran), so a task longer than a token's life (a simulator run) keeps working; a token
// given as it is (EDGEWARD_TOKEN) is never replaced.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createApiClient } from '../../broker/src/admin/api-client.js';
import { initPki } from '../../broker/src/fleet/data-dir.js';
import { generateKeyPair, privateKeyToPem } from '../../shared/src/index.js';
import { tmpDir } from '../helpers/tmp.js';

let server: Server;
let ca: string;
let port: number;
/** Tokens issued so far, the token each other request carried, and tokens the server refuses with 401. */
let issued = 0;
let lifeSeconds = 2;
const carried: string[] = [];
const refused = new Set<string>();
const credential = privateKeyToPem(generateKeyPair().secretKey);

/** A token shaped as the server's (a JWT whose claims say iat and exp, on a clock far from this machine's). */
function tokenNumber(n: number): string {
  const iat = 2_000_000_000 + n;
  const claims = Buffer.from(JSON.stringify({ iat, exp: iat + lifeSeconds })).toString('base64url');
  return `e30.${claims}.t${n}`;
}

test.before(async () => {
  const p = await initPki(join(tmpDir('edgeward-token-renew-'), 'data'));
  ca = readFileSync(p.caCert, 'utf8');
  server = createServer({ key: readFileSync(p.serverKey), cert: readFileSync(p.serverCert) }, (req, res) => {
    req.resume();
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/api/v1/auth/token') {
      const token = tokenNumber(++issued);
      return json(201, { token, expiresAt: '2033-05-18T03:33:20.000Z', scopes: [], devices: null });
    }
    const auth = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    carried.push(auth);
    if (refused.has(auth)) return json(401, { code: 'API_UNAUTHORIZED', detail: 'token expired', status: 401 });
    json(200, { ok: true });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

test.after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const reset = () => {
  issued = 0;
  carried.length = 0;
  refused.clear();
};

test('a token obtained with the credential is used until it nears its end, then renewed', async () => {
  reset();
  lifeSeconds = 2; // renewed after half its life: 1 s
  const c = createApiClient({ server: `https://127.0.0.1:${port}`, ca, credential });
  await c.call('GET', '/x');
  await c.call('GET', '/x');
  assert.is(issued, 1, 'one token for both calls');
  await new Promise((r) => setTimeout(r, 1100));
  await Promise.all([c.call('GET', '/x'), c.call('GET', '/x')]);
  assert.is(issued, 2, 'renewed once, for both concurrent calls');
  assert.equal(carried, [tokenNumber(1), tokenNumber(1), tokenNumber(2), tokenNumber(2)]);
  c.close();
});

test('a long-lived token is not renewed early; a 401 renews it once and the request is sent again', async () => {
  reset();
  lifeSeconds = 900;
  const c = createApiClient({ server: `https://127.0.0.1:${port}`, ca, credential });
  await c.call('GET', '/x');
  refused.add(tokenNumber(1));
  assert.equal(await c.call('GET', '/x'), { ok: true });
  assert.equal(carried, [tokenNumber(1), tokenNumber(1), tokenNumber(2)]);
  // Refused again with the new token: the 401 is the answer, no loop.
  refused.add(tokenNumber(2));
  refused.add(tokenNumber(3));
  assert.is((await c.exchange('GET', '/x')).status, 401);
  assert.is(issued, 3);
  c.close();
});

test('a token given as it is is sent as it is, also after a 401', async () => {
  reset();
  const c = createApiClient({ server: `https://127.0.0.1:${port}`, ca, token: 'given' });
  refused.add('given');
  assert.is((await c.exchange('GET', '/x')).status, 401);
  assert.is(issued, 0);
  assert.equal(carried, ['given']);
  c.close();
});

test.run();
