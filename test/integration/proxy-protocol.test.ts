// The MQTT and HTTPS ports behind a real HAProxy that sends the PROXY protocol (send-proxy-v2 and send-proxy, from
// the one source address the server trusts): the server sees each device's own address, in its connection history
// and in its per-address connection limit, and each enrolling client's, in its enrolment failure budget; a
// connection from the trusted address without a valid header, or too slow with it, is refused and audited; devices
// connecting directly from other addresses are untouched, and a PROXY header from an untrusted address is not
// believed.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import type { IClientOptions } from 'mqtt';
import { parseFleetConfig } from '../../broker/src/config.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';
import { freePort, waitForPort } from '../helpers/mosquitto.js';
import { testWithPeers } from '../helpers/peers.js';
import { tmpDir } from '../helpers/tmp.js';

const test = testWithPeers(['haproxy'], 'apt-get install -y haproxy');

const PROXY_SOURCE = '127.0.3.1';
let fleet: TestFleet;
let haproxy: ChildProcess | undefined;
let haproxyLog = '';
/** HAProxy's fronts: PROXY protocol version 2 and version 1 to the MQTT port, version 2 to the HTTPS port. */
let v2Port: number;
let v1Port: number;
let httpsPort: number;

/** MQTT.js hands its options to the socket it opens: a source address among them. */
const from = (localAddress: string, url?: string): IClientOptions & { url?: string } =>
  ({ localAddress, connectTimeout: 5000, ...(url ? { url } : {}) }) as IClientOptions & { url?: string };

/** The device's connection attempt fails (refused at accept, or its TLS handshake cut). */
async function refusedConnect(id: string, opts: IClientOptions & { url?: string }): Promise<void> {
  const ok = await fleet.connect(id, opts).then(
    async (c) => (await c.endAsync(), true),
    () => false,
  );
  assert.not.ok(ok, `${id} connected`);
}

const connections = (id: string) =>
  fleet.db.prepare('SELECT address FROM connections WHERE device_id = ? ORDER BY id').all(id) as { address: string }[];
const audits = (event: string) =>
  fleet.db.prepare('SELECT address, detail FROM audit WHERE event = ? ORDER BY id').all(event) as {
    address: string | null;
    detail: string;
  }[];

test.before(async () => {
  fleet = await createTestFleet(['gw-v2', 'gw-v1', 'gw-direct', 'gw-limited', 'gw-other', 'gw-spoof']);
  await fleet.start({
    config: parseFleetConfig({
      proxyProtocol: { trustedProxies: [PROXY_SOURCE] },
      // A burst of 2 connections per address: the third from one device's address is refused, HAProxy's or not.
      limits: { connectionBurstPerAddress: 2, connectionsPerMinutePerAddress: 1, connectTimeoutSeconds: 2 },
    }),
  });
  [v2Port, v1Port, httpsPort] = [await freePort(), await freePort(), await freePort()];
  const dir = tmpDir('edgeward-haproxy-');
  const cfg = join(dir, 'haproxy.cfg');
  const server = `127.0.0.1:${fleet.server.mqttPort}`;
  writeFileSync(
    cfg,
    [
      'defaults',
      '    mode tcp',
      '    timeout connect 5s',
      '    timeout client 1m',
      '    timeout server 1m',
      `frontend v2`,
      `    bind 127.0.0.1:${v2Port}`,
      '    default_backend v2',
      `frontend v1`,
      `    bind 127.0.0.1:${v1Port}`,
      '    default_backend v1',
      `frontend https`,
      `    bind 127.0.0.1:${httpsPort}`,
      '    default_backend https',
      'backend https',
      `    source ${PROXY_SOURCE}`,
      `    server node 127.0.0.1:${fleet.server.httpPort} send-proxy-v2`,
      'backend v2',
      `    source ${PROXY_SOURCE}`,
      `    server node ${server} send-proxy-v2`,
      'backend v1',
      `    source ${PROXY_SOURCE}`,
      `    server node ${server} send-proxy`,
      '',
    ].join('\n'),
  );
  const child = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  haproxy = child;
  child.stdout!.on('data', (d: Buffer) => (haproxyLog += d));
  child.stderr!.on('data', (d: Buffer) => (haproxyLog += d));
  try {
    await waitForPort(v2Port);
    await waitForPort(v1Port);
    await waitForPort(httpsPort);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${haproxyLog}`);
  }
});

test.after(async () => {
  haproxy?.kill('SIGKILL');
  await fleet?.close();
});

test("through HAProxy (PROXY v2 and v1) the server records each device's own address, not HAProxy's", async () => {
  const viaV2 = await fleet.connect('gw-v2', from('127.0.0.7', `mqtts://127.0.0.1:${v2Port}`));
  const viaV1 = await fleet.connect('gw-v1', from('127.0.0.8', `mqtts://127.0.0.1:${v1Port}`));
  await waitFor(() => connections('gw-v2').length === 1 && connections('gw-v1').length === 1, 'both sessions');
  assert.equal(connections('gw-v2'), [{ address: '127.0.0.7' }]);
  assert.equal(connections('gw-v1'), [{ address: '127.0.0.8' }]);
  await viaV2.endAsync();
  await viaV1.endAsync();
});

test("the per-address connection limit counts each device's address behind HAProxy", async () => {
  const via = `mqtts://127.0.0.1:${v2Port}`;
  for (let i = 0; i < 2; i++) await (await fleet.connect('gw-limited', from('127.0.0.20', via))).endAsync();
  // The third from 127.0.0.20 in the same minute is refused at accept; another address is not.
  await refusedConnect('gw-limited', from('127.0.0.20', via));
  const other = await fleet.connect('gw-other', from('127.0.0.21', via));
  await other.endAsync();
  await waitFor(() => audits('connect.throttled').length > 0, 'the throttled connection audited');
  assert.equal(
    audits('connect.throttled').map((a) => a.address),
    ['127.0.0.20'],
  );
});

test('from the trusted address, a connection without a valid PROXY header is refused and audited', async () => {
  // A device (TLS ClientHello first) on the trusted address: not a header.
  await refusedConnect('gw-direct', from(PROXY_SOURCE));
  // Garbage, and half a header left hanging: closed, the second after connectTimeoutSeconds (2 s).
  const closedAfter = async (bytes: Buffer) => {
    const started = Date.now();
    const s: Socket = netConnect({ host: '127.0.0.1', port: fleet.server.mqttPort, localAddress: PROXY_SOURCE });
    s.on('error', () => {});
    s.write(bytes);
    await new Promise((resolve) => s.once('close', resolve));
    return Date.now() - started;
  };
  assert.ok((await closedAfter(Buffer.from('GET / HTTP/1.1\r\n\r\n'))) < 1500);
  const slow = await closedAfter(Buffer.from('PROXY TCP4 10.9.9.9 '));
  assert.ok(slow >= 1800 && slow < 10_000, `closed after ${slow} ms`);
  // Audited as a flood would be: the first in full, the others counted in the summary the window ends with.
  await waitFor(() => audits('connect.refused').length >= 1, 'the refusal audited');
  const [first] = audits('connect.refused').map((a) => ({ address: a.address, ...JSON.parse(a.detail) }));
  assert.equal([first.address, first.reason], [PROXY_SOURCE, 'proxy-header']);
  assert.match(first.error, /does not start with one/);
  assert.is(fleet.server.metrics.denials.get({ kind: 'proxy', reason: 'header' }), 3);
  assert.is(connections('gw-direct').length, 0);
});

test('from any other address devices connect directly, and a PROXY header there is not believed', async () => {
  const direct = await fleet.connect('gw-direct', from('127.0.0.30'));
  await waitFor(() => connections('gw-direct').length === 1, 'the direct session');
  assert.equal(connections('gw-direct'), [{ address: '127.0.0.30' }]);
  await direct.endAsync();
  // A client claiming another address with a header of its own: the TLS handshake fails on it, and the audit
  // records where it really came from.
  const s = netConnect({ host: '127.0.0.1', port: fleet.server.mqttPort, localAddress: '127.0.0.31' });
  s.on('error', () => {});
  s.write('PROXY TCP4 10.6.6.6 127.0.0.1 1234 8883\r\n');
  await new Promise((resolve) => s.once('close', resolve));
  await waitFor(() => audits('tls.denied').some((a) => a.address === '127.0.0.31'), 'the refused handshake audited');
  assert.not.ok(audits('tls.denied').some((a) => a.address === '10.6.6.6'));
  assert.is(connections('gw-spoof').length, 0);
});

/** An enrolment attempt with a token nobody issued, from `localAddress`: its HTTP status and `error`. */
function enrolWithBadToken(port: number, localAddress: string): Promise<{ status: number; error: string }> {
  const body = JSON.stringify({ token: 'not-a-token', id: 'gw-new', csr: 'x', sealKey: 'x' });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/enroll',
        method: 'POST',
        localAddress,
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, error: (JSON.parse(text) as { error: string }).error }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test("the HTTPS port through HAProxy: enrolment's failure budget is each client's, not HAProxy's", async () => {
  // The default budget: 5 failed attempts a minute per address, then 429 before anything is looked at.
  for (let i = 0; i < 5; i++) assert.is((await enrolWithBadToken(httpsPort, '127.0.0.40')).status, 401);
  assert.equal(await enrolWithBadToken(httpsPort, '127.0.0.40'), { status: 429, error: 'rate-limited' });
  // Another client behind the same HAProxy still has its own budget.
  assert.equal(await enrolWithBadToken(httpsPort, '127.0.0.41'), { status: 401, error: 'token-invalid' });
  const denied = audits('enroll.denied').map((a) => a.address);
  assert.ok(denied.includes('127.0.0.40') && denied.includes('127.0.0.41'), denied.join());
  assert.not.ok(denied.includes(PROXY_SOURCE));
});

test.run();
