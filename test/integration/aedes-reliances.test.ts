// What the fleet server relies on in aedes beyond its typed options (docs/aedes.md), checked against aedes itself
// with real MQTT clients on loopback: each failure names the aedes behaviour that changed and the code it breaks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { once } from 'node:events';
import { createServer, connect as netConnect, type AddressInfo } from 'node:net';
import { Aedes, type AedesOptions, type Client } from 'aedes';
import mqtt from 'mqtt';
import { brokerRefusal, type BrokerRefusal } from '../../broker/src/mqtt/broker-refusals.js';
import { consumeClientPublishes } from '../../broker/src/mqtt/consume-client-publishes.js';
import { waitFor } from '../helpers/fleet.js';

async function startAedes(opts: AedesOptions = {}, hook?: (aedes: Aedes) => void) {
  const aedes = await Aedes.createBroker(opts);
  hook?.(aedes);
  const server = createServer((socket) => aedes.handle(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    aedes,
    url,
    connect: (clientId: string, more: mqtt.IClientOptions = {}) =>
      mqtt.connectAsync(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, ...more }),
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Rejects with `message` unless `promise` settles within `ms` (a bound on a wait, not a timing assertion). */
function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const serverPublish = (aedes: Aedes, topic: string) =>
  new Promise<void>((resolve, reject) =>
    aedes.publish({ cmd: 'publish', topic, payload: Buffer.from('s'), qos: 1, dup: false, retain: false }, (err) =>
      err ? reject(err) : resolve(),
    ),
  );

test('aedes.publish(packet, client, done) gets client PUBLISHes and wills: consumed, acked, not routed', async () => {
  const authorized: string[] = [];
  const b = await startAedes(
    {
      authorizePublish(client, packet, done) {
        if (client) authorized.push(packet.topic);
        done(null);
      },
    },
    consumeClientPublishes,
  );
  try {
    const routed: string[] = [];
    b.aedes.on('publish', (packet, client) => void (client && routed.push(packet.topic)));
    const watcher = await b.connect('watcher');
    const delivered: string[] = [];
    watcher.on('message', (topic) => void delivered.push(topic));
    await watcher.subscribeAsync('dev/#', { qos: 1 });
    const device = await b.connect('device', {
      will: { topic: 'dev/will', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    for (let i = 0; i < 5; i++) device.publish('dev/qos0', 'x', { qos: 0 });
    for (let i = 0; i < 5; i++)
      await within(
        device.publishAsync('dev/qos1', 'x', { qos: 1 }),
        5000,
        'a client PUBLISH stalled the connection: aedes no longer passes `done` as the third argument of ' +
          'aedes.publish(packet, client, done), which consumeClientPublishes calls to let aedes read on',
      );
    // What the server publishes itself has no client and is routed as usual.
    await serverPublish(b.aedes, 'dev/server-1');
    await waitFor(() => delivered.includes('dev/server-1'), 'the server’s own message delivered');
    // Dropped without DISCONNECT: aedes authorizes the will for the client, then publishes it as the client's.
    device.stream.destroy();
    await waitFor(() => authorized.includes('dev/will'), 'aedes calls authorizePublish(client, will) for the will');
    // Anything routed from the device would be delivered before this.
    await serverPublish(b.aedes, 'dev/server-2');
    await waitFor(() => delivered.includes('dev/server-2'), 'the server’s second message delivered');
    const why =
      'aedes no longer hands client PUBLISHes and wills to aedes.publish(packet, client, done) with the client ' +
      'object as second argument: consumeClientPublishes (broker/src/mqtt/consume-client-publishes.ts) no longer ' +
      'stops device messages from being routed (about 9% of the broker’s CPU); see docs/aedes.md';
    assert.equal(routed, [], why);
    assert.equal(delivered, ['dev/server-1', 'dev/server-2'], why);
    assert.equal(authorized, [...Array(5).fill('dev/qos0'), ...Array(5).fill('dev/qos1'), 'dev/will']);
    watcher.end(true);
  } finally {
    await b.close();
  }
});

test('preConnect(client, packet) gets the CONNECT and its will, before authenticate(client)', async () => {
  const calls: { hook: string; client: Client; will?: { topic: string; retain: boolean } }[] = [];
  const b = await startAedes({
    preConnect(client, packet, done) {
      const will = packet.will ? { topic: packet.will.topic, retain: packet.will.retain === true } : undefined;
      calls.push({ hook: 'preConnect', client, ...(will ? { will } : {}) });
      done(null, true);
    },
    authenticate(client, _user, _password, done) {
      calls.push({ hook: 'authenticate', client });
      done(null, true);
    },
  });
  try {
    const device = await b.connect('device', {
      will: { topic: 'dev/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    device.end(true);
    const why =
      'aedes no longer calls preConnect(client, packet) with the CONNECT packet’s will in packet.will, before ' +
      'authenticate(client, …) for the same client: the will check in broker/src/mqtt/hooks.ts (authenticate, ' +
      'from what preConnect kept) would let any will through; see docs/aedes.md';
    assert.equal(
      calls.map((c) => [c.hook, c.will]),
      [
        ['preConnect', { topic: 'dev/status', retain: true }],
        ['authenticate', undefined],
      ],
      why,
    );
    assert.ok(calls[0]!.client === calls[1]!.client, why);
  } finally {
    await b.close();
  }
});

test('a CONNECT refused in preConnect is closed without a CONNACK from aedes', async () => {
  const b = await startAedes({ preConnect: (_client, _packet, done) => done(new Error('refused'), false) });
  try {
    const { port } = new URL(b.url);
    const received = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = netConnect(Number(port), '127.0.0.1', () =>
        // CONNECT, MQTT 3.1.1, clean session, keep-alive 60, empty client id
        s.write(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00])),
      );
      s.on('data', (d: Buffer) => void chunks.push(d));
      s.on('error', () => {});
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
    assert.is(
      received.toString('hex'),
      '',
      'aedes now answers a CONNECT refused in preConnect with bytes of its own: preConnect in ' +
        'broker/src/mqtt/hooks.ts writes CONNACK 0x01 itself before refusing, so a client would get two; ' +
        'see docs/aedes.md',
    );
  } finally {
    await b.close();
  }
});

/** An MQTT string: two length bytes, then UTF-8 [MQTT-1.5.3]. */
const str = (s: string) => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};
const packet = (header: number, body: Buffer) => Buffer.concat([Buffer.from([header, body.length]), body]);
const rawPublish = (topic: string) => packet(0x30, Buffer.concat([str(topic), Buffer.from('x')]));
const rawSubscribe = (filter: string) =>
  packet(0x82, Buffer.concat([Buffer.from([0, 1]), str(filter), Buffer.from([1])]));

const refusals: [what: string, raw: Buffer, expected: BrokerRefusal][] = [
  ['a PUBLISH to a/+', rawPublish('a/+'), { action: 'publish', reason: 'wildcard' }],
  ['a PUBLISH to a/#', rawPublish('a/#'), { action: 'publish', reason: 'wildcard' }],
  ['a PUBLISH to an empty topic', rawPublish(''), { action: 'publish', reason: 'invalid-topic' }],
  ['a SUBSCRIBE to an empty filter', rawSubscribe(''), { action: 'subscribe', reason: 'invalid-topic' }],
  ['a SUBSCRIBE to a/#/b', rawSubscribe('a/#/b'), { action: 'subscribe', reason: 'invalid-topic' }],
  ['a SUBSCRIBE to a/b+', rawSubscribe('a/b+'), { action: 'subscribe', reason: 'invalid-topic' }],
];

test('aedes refuses wildcard and empty topics itself, with clientError messages broker-refusals.ts maps', async () => {
  const b = await startAedes();
  try {
    for (const [what, raw, expected] of refusals) {
      const error = new Promise<Error>((resolve) => b.aedes.once('clientError', (_c, err) => resolve(err)));
      const c = await b.connect('device');
      c.stream.write(raw);
      const err = await within(error, 5000, `aedes raised no clientError for ${what}`);
      c.end(true);
      assert.equal(
        brokerRefusal(err),
        expected,
        `aedes' clientError for ${what} now says ${JSON.stringify(err.message)}, which ` +
          'broker/src/mqtt/broker-refusals.ts does not map: the refusal would no longer be audited as acl.denied; ' +
          'see docs/aedes.md',
      );
    }
  } finally {
    await b.close();
  }
});

test.run();
