// Connections that would hold the HTTPS port: slow clients (headers a byte at a time, a body that trickles), TLS
// sessions that never send a request, TCP connections that never finish their TLS handshake. Honest API requests
// keep getting answers while they are open, the slow ones are dropped after the (configured, here short) header
// or request timeout with a 408 problem, and headers above the cap get a 431 problem.
import { connect as tcpConnect, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFleetConfig } from '../../broker/src/config.js';
import { createTestFleet, type TestFleet, waitFor } from '../helpers/fleet.js';
import { addOperator } from '../helpers/operators.js';
import { caOf, parseRawAnswer, rawExchange, rawRequest, tlsSocket, tokenFrom } from '../helpers/raw-https.js';

let fleet: TestFleet;
let ca: Buffer;
let token: string;

test.before(async () => {
  fleet = await createTestFleet(['gw-0001']);
  const config = parseFleetConfig({
    api: {
      headersTimeoutSeconds: 1,
      requestTimeoutSeconds: 2,
      requestsPerMinutePerAddress: 100_000,
      requestsPerMinutePerOperator: 100_000,
    },
  });
  await fleet.start({ config });
  ca = caOf(fleet.dataDir);
  token = await tokenFrom(fleet.server.httpPort, ca, await addOperator(fleet.db, 'alice', 'admin'));
});

test.after(async () => {
  await fleet?.close();
});

/** A socket that records what the server sent and when it closed the connection. */
interface Watched {
  readonly socket: Socket;
  received: string;
  closed: boolean;
}

function watch(socket: Socket): Watched {
  const w: Watched = { socket, received: '', closed: false };
  socket.on('data', (d: Buffer) => {
    w.received += d.toString('utf8');
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    w.closed = true;
  });
  return w;
}

/** Writes `text` one byte every `everyMs` for as long as the socket is open. */
function trickle(w: Watched, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (w.closed || w.socket.destroyed) return clearInterval(timer);
    w.socket.write(text[i++ % text.length]!);
  }, everyMs);
}

const honest = () =>
  rawRequest(fleet.server.httpPort, ca, { path: '/api/v1/devices', token, timeoutMs: 5000 }).then((a) => a.status);

test('slowloris, idle TLS and unfinished handshakes do not starve the API; slow clients are dropped', async () => {
  const port = fleet.server.httpPort;
  const slowHeaders: Watched[] = [];
  const slowBodies: Watched[] = [];
  const idle: Watched[] = [];
  const unfinished: Socket[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      const w = watch(await tlsSocket(port, ca));
      w.socket.write('GET /api/v1/devices HTTP/1.1\r\nHost: localhost\r\n');
      trickle(w, 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n', 50);
      slowHeaders.push(w);
    }
    for (let i = 0; i < 10; i++) {
      const w = watch(await tlsSocket(port, ca));
      w.socket.write(
        `POST /api/v1/auth/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
          'Content-Length: 5000\r\n\r\n{"assertion":"',
      );
      trickle(w, 'a', 50);
      slowBodies.push(w);
    }
    for (let i = 0; i < 20; i++) idle.push(watch(await tlsSocket(port, ca)));
    for (let i = 0; i < 20; i++) {
      const s = tcpConnect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      // Half of them start a ClientHello (a TLS record header) and stop; the rest send nothing at all.
      if (i % 2) s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
      unfinished.push(s);
    }

    // Honest requests while all of them are open: each is answered (the helper gives up after 5 s).
    for (let i = 0; i < 20; i++) assert.is(await honest(), 200, `honest request ${i + 1}`);

    // The header timeout (1 s) drops the slowloris and the idle sessions, the request timeout (2 s) the slow bodies.
    const slow = [...slowHeaders, ...idle, ...slowBodies];
    await waitFor(() => slow.every((w) => w.closed), 'the slow connections to be dropped', 10_000);
    for (const w of [...slowHeaders, ...slowBodies]) {
      const a = parseRawAnswer(w.received);
      assert.is(a.status, 408, w.received.slice(0, 200));
      assert.is(JSON.parse(a.body).code, 'API_REQUEST_TIMEOUT');
      assert.ok(a.headers['content-type']?.startsWith('application/problem+json'));
    }
    assert.is(await honest(), 200);
  } finally {
    for (const w of [...slowHeaders, ...slowBodies, ...idle]) w.socket.destroy();
    for (const s of unfinished) s.destroy();
  }
});

test('headers above the cap: 431 problem and the connection closes; just under the cap is served', async () => {
  const port = fleet.server.httpPort;
  const big = await rawExchange(
    port,
    ca,
    `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
  );
  const a = parseRawAnswer(big);
  assert.is(a.status, 431, big.slice(0, 200));
  assert.is(JSON.parse(a.body).code, 'API_HEADERS_TOO_LARGE');
  assert.ok(a.headers['content-type']?.startsWith('application/problem+json'));
  assert.is(a.headers.connection, 'close');
  // Many small headers add up the same way.
  const many = Array.from({ length: 1000 }, (_, i) => `X-H${i}: ${'b'.repeat(20)}\r\n`).join('');
  assert.is(parseRawAnswer(await rawExchange(port, ca, `GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`)).status, 431);
  // A long URL is part of the headers too.
  const url = await rawExchange(port, ca, `GET /api/v1/devices?cursor=${'c'.repeat(17 * 1024)} HTTP/1.1\r\n\r\n`);
  assert.is(parseRawAnswer(url).status, 431);
  const fits = await rawRequest(port, ca, { path: '/healthz', headers: { 'x-big': 'a'.repeat(14 * 1024) } });
  assert.is(fits.status, 200);
});

test('a body refused before it is read is not read: the answer closes the connection', async () => {
  const port = fleet.server.httpPort;
  const head = (path: string, auth: boolean) =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n` +
    `${auth ? `Authorization: Bearer ${token}\r\n` : ''}\r\n{"a":`;
  for (const [what, path, auth, status] of [
    ['no token', '/api/v1/devices', false, 401],
    ['a route that takes no body', '/api/v1/devices/gw-0001/revoke', true, 413],
    ['over the body limit', '/api/v1/devices', true, 413],
    ['an unknown route', '/api/v1/nothing', true, 404],
  ] as const) {
    // rawExchange resolves when the server closes the connection; the 100 MB body is never sent.
    const a = parseRawAnswer(await rawExchange(port, ca, head(path, auth)));
    assert.is(a.status, status, what);
    assert.is(a.headers.connection, 'close', what);
  }
});

test.run();
