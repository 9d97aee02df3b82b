// A half-open TLS flood: 10,000 connections from 50 loopback addresses, each stopped halfway through its
// ClientHello and held by a child process. With the default limits the server keeps at most
// maxPendingHandshakes of them (its descriptors stay bounded), counts the refusals, and a device with a valid
// certificate still connects and publishes while the flood is held; /healthz keeps answering.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { request } from 'node:https';
import { parseFleetConfig } from '../../broker/src/config.js';
import { deviceTopic, encode } from '../../shared/src/index.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { startHalfOpenFlood, type Flood } from '../helpers/half-open-flood.js';

const SOCKETS = 10_000;
const ADDRESSES = 50;
// The defaults; the flood must be held longer than the test runs, so only the handshake timeout is raised.
const config = parseFleetConfig({ limits: { connectTimeoutSeconds: 120 } });
const cap = config.limits.maxPendingHandshakes;

let fleet: TestFleet;
let flood: Flood | undefined;

test.before(async () => {
  fleet = await createTestFleet(['gw-honest']);
  await fleet.start({ config, auditWindowMs: 10_000 });
});
test.after(async () => {
  await flood?.stop().catch(() => undefined);
  await fleet.close();
});

const openFiles = () => readdirSync('/proc/self/fd').length;

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `https://127.0.0.1:${fleet.server.httpPort}${path}`,
      { ca: fleet.credentials('gw-honest').ca, servername: 'localhost', timeout: 10_000 },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const metric = (text: string, line: string) => Number(new RegExp(`^${line} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);

test(`${SOCKETS} half-open sockets from ${ADDRESSES} addresses: ${cap} kept at most, a device gets in`, async () => {
  const before = openFiles();
  // Paced at 2,000 a second: faster, the flood overruns the listen backlog and waits out SYN retransmits.
  flood = startHalfOpenFlood({ port: fleet.server.mqttPort, sockets: SOCKETS, addresses: ADDRESSES, perSecond: 2000 });
  const t0 = Date.now();
  const ready = await flood.ready;
  console.log(`flood: ${JSON.stringify(ready)} after ${Date.now() - t0} ms`);
  assert.is(ready.attempted, SOCKETS);
  assert.ok(ready.connected > SOCKETS * 0.9, `the flood reached the server: ${JSON.stringify(ready)}`);

  // The server closed all but `cap` of them (a connection waiting in the listen backlog looks connected to the
  // flood until the server accepts and refuses it).
  const held = await waitFor(async () => {
    const s = await flood!.stats();
    return s.held <= cap ? s : undefined;
  }, 'the server to close all but the capped sockets');
  const m = (await get('/metrics')).body;
  const pending = metric(m, 'edgeward_pending_handshakes');
  assert.ok(pending > cap / 2 && pending <= cap, `${pending} handshakes pending`);
  assert.ok(openFiles() - before <= cap + 200, `server descriptors: ${openFiles()} (before the flood: ${before})`);
  const perAddress = metric(m, 'edgeward_denials_total\\{kind="connect",reason="handshakes-per-address"\\}');
  const total = metric(m, 'edgeward_denials_total\\{kind="connect",reason="handshakes-total"\\}');
  assert.ok(perAddress > 0 && total > 0, `refusals counted: per address ${perAddress}, total ${total}`);
  assert.is(perAddress + total, ready.connected - pending, 'every connection the server closed is counted');
  console.log(`held ${JSON.stringify(held)}, ${Date.now() - t0} ms`);
  const device = await fleet.connect('gw-honest', { connectTimeout: 20_000 });
  const now = Date.now();
  await device.publishAsync(
    deviceTopic('gw-honest', 'telemetry'),
    encode({ v: 1, id: 'flood-msg-0001', ts: now, stream: 'flood-stream', samples: [{ seq: 1, ts: now, m: {} }] }),
    { qos: 1 },
  );
  await device.endAsync();
  console.log(`device published, ${Date.now() - t0} ms`);
  const stored = fleet.db.prepare(`SELECT count(*) FROM telemetry WHERE device_id = 'gw-honest'`).pluck().get();
  assert.is(stored, 1);
  assert.is((await get('/healthz')).status, 200);
  const audited = fleet.db.prepare(`SELECT count(*) FROM audit WHERE event = 'connect.refused'`).pluck().get();
  assert.ok((audited as number) > 0, 'refusals are audited');

  // Once the flood lets go, the server's descriptors come back.
  await flood.stop();
  flood = undefined;
  await waitFor(async () => metric((await get('/metrics')).body, 'edgeward_pending_handshakes') === 0, 'no pending');
  await waitFor(() => openFiles() - before < 50, 'descriptors released');
});

test.run();
