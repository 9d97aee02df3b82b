// The API client sends a request refused for the rate limit (429) again after its Retry-After, when asked to
// (the CLI: a bulk run through the API outruns the per-operator limit); otherwise it reports the 429 as it came.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createApiClient } from '../../broker/src/admin/api-client.js';
import { initPki } from '../../broker/src/fleet/data-dir.js';
import { tmpDir } from '../helpers/tmp.js';

let server: Server;
let ca: string;
let port: number;
/** Requests seen, and how many of the next ones are refused with 429. */
let seen = 0;
let refuse = 0;
let retryAfter = '1';

test.before(async () => {
  const p = await initPki(join(tmpDir('edgeward-retry-'), 'data'));
  ca = readFileSync(p.caCert, 'utf8');
  server = createServer({ key: readFileSync(p.serverKey), cert: readFileSync(p.serverCert) }, (req, res) => {
    seen++;
    req.resume();
    if (refuse > 0) {
      refuse--;
      res.writeHead(429, { 'content-type': 'application/problem+json', 'retry-after': retryAfter });
      res.end(JSON.stringify({ code: 'API_RATE_LIMITED', detail: 'too many requests', status: 429 }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

test.after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = (retryRateLimited: boolean) =>
  createApiClient({ server: `https://127.0.0.1:${port}`, ca, token: 't', retryRateLimited });

test('with retryRateLimited, a 429 is sent again after Retry-After and the answer is the next one', async () => {
  const c = client(true);
  [seen, refuse, retryAfter] = [0, 2, '1'];
  assert.equal(await c.call('GET', '/x'), { ok: true });
  assert.is(seen, 3);
  c.close();
});

test('without it, or when the server asks to wait more than a minute, the 429 is the answer', async () => {
  const plain = client(false);
  [seen, refuse, retryAfter] = [0, 1, '1'];
  assert.is((await plain.exchange('GET', '/x')).status, 429);
  assert.is(seen, 1);
  plain.close();
  const patient = client(true);
  [seen, refuse, retryAfter] = [0, 1, '3600'];
  try {
    await patient.call('GET', '/x');
    assert.unreachable('a wait of an hour was taken');
  } catch (err) {
    assert.is((err as { code: string }).code, 'API_RATE_LIMITED');
  }
  assert.is(seen, 1);
  patient.close();
});

test.run();
