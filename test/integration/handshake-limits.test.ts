// Connections that never finish their TLS handshake: closed after connectTimeoutSeconds on both ports, capped per
// source address and in total (the oldest is evicted), counted in /metrics, audited, and closed at shutdown.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:https';
import { connect, type Socket } from 'node:net';
import { parseFleetConfig } from '../../broker/src/config.js';
import { halfClientHello } from '../helpers/client-hello.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;
let hello: Buffer;
const opened: Socket[] = [];

test.before(async () => {
  fleet = await createTestFleet(['gw-001']);
  hello = await halfClientHello();
  await fleet.start({ config: parseFleetConfig({ limits: { connectTimeoutSeconds: 1 } }), auditWindowMs: 0 });
});
test.after(async () => {
  for (const s of opened) s.destroy();
  await fleet.close();
});

interface HalfOpen {
  readonly socket: Socket;
  /** Resolves when the server closes the connection. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

/** A connection from `from` that sends `bytes` (half a ClientHello, or nothing) and then waits. */
async function halfOpen(port: number, from: string, bytes: Buffer): Promise<HalfOpen> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  opened.push(socket);
  socket.on('error', () => {});
  let closed = false;
  const done = new Promise<void>((resolve) => socket.once('close', () => resolve(void (closed = true))));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
  if (bytes.length > 0) socket.write(bytes);
  return { socket, closed: done, isClosed: () => closed };
}

/** Waits for the server to close it, at most `ms`. */
async function closedWithin(h: HalfOpen, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  const closed = await Promise.race([h.closed.then(() => true), late]);
  clearTimeout(timer);
  return closed;
}

/** Stops the server; a close still waiting after 10 s (for handshakes that never end) fails the test. */
async function closeServer(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the server did not close within 10 s')), 10_000);
  });
  await Promise.race([fleet.server.close(), stuck]).finally(() => clearTimeout(timer));
}

function get(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `https://127.0.0.1:${fleet.server.httpPort}${path}`,
      { ca: fleet.credentials('gw-001').ca, servername: 'localhost', timeout: 5000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

const denials = (kind: string, reason: string) => fleet.server.metrics.denials.get({ kind, reason });
const pending = () => Number(/^edgeward_pending_handshakes (\d+)$/m.exec(fleet.server.metrics.registry.render())?.[1]);
const audits = (event: string, reason: string) =>
  fleet.db
    .prepare(`SELECT address FROM audit WHERE event = ? AND json_extract(detail, '$.reason') = ? ORDER BY id`)
    .pluck()
    .all(event, reason) as (string | null)[];

test('MQTT port: a socket that never finishes its handshake is closed after connectTimeoutSeconds', async () => {
  const half = await halfOpen(fleet.server.mqttPort, '127.0.8.1', hello);
  const silent = await halfOpen(fleet.server.mqttPort, '127.0.8.2', Buffer.alloc(0));
  assert.ok(await closedWithin(half, 8000), 'half a ClientHello: still open after 8 s (timeout 1 s)');
  assert.ok(await closedWithin(silent, 8000), 'nothing sent: still open after 8 s (timeout 1 s)');
  await waitFor(() => denials('tls', 'ERR_TLS_HANDSHAKE_TIMEOUT') >= 2, 'timeouts counted');
  const addresses = audits('tls.denied', 'ERR_TLS_HANDSHAKE_TIMEOUT');
  assert.ok(addresses.includes('127.0.8.1') && addresses.includes('127.0.8.2'), `audited: ${addresses}`);
  await waitFor(() => pending() === 0, 'no handshake pending');
});

test('HTTPS port: the same timeout applies (node alone would wait 120 s)', async () => {
  const half = await halfOpen(fleet.server.httpPort, '127.0.8.3', hello);
  const silent = await halfOpen(fleet.server.httpPort, '127.0.8.4', Buffer.alloc(0));
  assert.ok(await closedWithin(half, 8000), 'half a ClientHello: still open after 8 s (timeout 1 s)');
  assert.ok(await closedWithin(silent, 8000), 'nothing sent: still open after 8 s (timeout 1 s)');
  await waitFor(() => pending() === 0, 'no handshake pending');
});

test('caps: the 4th pending connection of one address is refused, the 7th of all evicts the oldest', async () => {
  await closeServer();
  await fleet.start({
    config: parseFleetConfig({
      limits: { connectTimeoutSeconds: 60, maxPendingHandshakesPerAddress: 3, maxPendingHandshakes: 6 },
    }),
    auditWindowMs: 0,
  });
  const port = fleet.server.mqttPort;
  const a: HalfOpen[] = [];
  for (let i = 0; i < 4; i++) a.push(await halfOpen(port, '127.0.9.1', hello));
  await waitFor(() => a[3]!.isClosed(), 'the 4th connection of 127.0.9.1 refused');
  assert.equal(
    a.map((h) => h.isClosed()),
    [false, false, false, true],
  );
  assert.is(denials('connect', 'handshakes-per-address'), 1);
  assert.equal(audits('connect.refused', 'handshakes-per-address'), ['127.0.9.1']);

  // On the HTTPS port too: one cap for both ports.
  const b: HalfOpen[] = [];
  for (let i = 0; i < 3; i++) b.push(await halfOpen(fleet.server.httpPort, '127.0.9.2', hello));
  await waitFor(() => pending() === 6, 'six handshakes pending');
  const c = await halfOpen(port, '127.0.9.3', hello);
  await waitFor(() => a[0]!.isClosed(), 'the oldest pending connection evicted');
  assert.not.ok(a[1]!.isClosed() || b.some((h) => h.isClosed()) || c.isClosed(), 'only the oldest was evicted');
  assert.is(denials('connect', 'handshakes-total'), 1);
  assert.is(audits('connect.refused', 'handshakes-total').length, 1);

  // A device with a valid certificate still gets in (its connection evicts the next oldest), and /healthz answers
  // (its handshake takes the place the device's finished one left).
  const device = await fleet.connect('gw-001', { connectTimeout: 5000 });
  await device.endAsync();
  assert.is(await get('/healthz'), 200);
  await waitFor(() => a[1]!.isClosed(), 'the next oldest evicted for the device');
  assert.not.ok(a[2]!.isClosed());
  assert.is(denials('connect', 'handshakes-total'), 2);
  assert.is(pending(), 5);
});

test('shutdown closes the handshakes in progress at once instead of waiting for their timeout (60 s)', async () => {
  assert.ok(pending() > 0, 'handshakes are pending');
  const held = opened.filter((s) => !s.destroyed);
  await closeServer();
  await waitFor(() => held.every((s) => s.destroyed), 'every pending connection closed');
});

test.run();
