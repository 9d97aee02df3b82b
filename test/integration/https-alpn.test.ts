// ALPN on the HTTPS port: HTTP/1.1 and HTTP/1.0 clients are served (curl --http1.0 offers only "http/1.0"), a
// client offering no ALPN is served, and a client offering only protocols the server does not speak is refused.
import { test as uvu } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { testWithPeers } from '../helpers/peers.js';
import { run } from '../helpers/run.js';

const withCurl = testWithPeers(['curl'], 'apt-get install curl');
let fleet: TestFleet;

uvu.before(async () => {
  fleet = await createTestFleet([]);
  await fleet.start();
});
uvu.after(async () => {
  await fleet.close();
});

/** GET /healthz over a TLS connection that offers `alpn`; the negotiated protocol and the status line. */
function healthz(
  alpn: string[] | undefined,
): Promise<{ protocol: string | false; status: string } | { error: string }> {
  return new Promise((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port: fleet.server.httpPort,
      servername: 'localhost',
      ca: readFileSync(join(fleet.dataDir, 'pki', 'ca.crt')),
      ...(alpn ? { ALPNProtocols: alpn } : {}),
    });
    let response = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
    socket.on('secureConnect', () => socket.write('GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n'));
    socket.on('data', (d) => (response += d));
    socket.on('error', (e) => resolve({ error: e.message }));
    socket.on('end', () => resolve({ protocol: socket.alpnProtocol ?? false, status: response.split('\r\n')[0]! }));
  });
}

uvu('a client offering only http/1.0 is served', async () => {
  const r = await healthz(['http/1.0']);
  assert.equal(r, { protocol: 'http/1.0', status: 'HTTP/1.1 200 OK' });
});

uvu('a client offering http/1.1 gets it', async () => {
  const r = await healthz(['h2', 'http/1.1', 'http/1.0']);
  assert.equal(r, { protocol: 'http/1.1', status: 'HTTP/1.1 200 OK' });
});

uvu('a client offering no ALPN is served', async () => {
  const r = await healthz(undefined);
  assert.equal(r, { protocol: false, status: 'HTTP/1.1 200 OK' });
});

uvu('a client offering only h2 is refused (no_application_protocol)', async () => {
  const r = await healthz(['h2']);
  assert.ok('error' in r, JSON.stringify(r));
  if ('error' in r) assert.match(r.error, /no application protocol/i);
});

withCurl('curl --http1.0 gets /healthz', async () => {
  const port = fleet.server.httpPort;
  const r = await run(
    'curl',
    [
      ...['--http1.0', '--silent', '--show-error', '--include', '--max-time', '10'],
      ...['--cacert', join(fleet.dataDir, 'pki', 'ca.crt'), '--resolve', `localhost:${port}:127.0.0.1`],
      `https://localhost:${port}/healthz`,
    ],
    { timeoutMs: 15_000 },
  );
  assert.is(r.code, 0, r.output);
  assert.match(r.stdout, /^HTTP\/1\.1 200 OK/, r.output);
});

uvu.run();
