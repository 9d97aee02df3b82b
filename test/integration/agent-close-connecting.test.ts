// An agent closed while its connection is still waiting for the server's CONNACK stops cleanly when the CONNACK
// comes after all: the session is not started on a client already ending (its publish of "online" hit MQTT.js's
// closed store and crashed the process: `npm start` died with a stack trace on a quick Ctrl-C). Likewise while it
// waits for the SUBACK before it announces itself online (a simulator worker crashed so when its cluster stopped).
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAgent } from '../../agent/src/index.js';
import { decode } from '../../shared/src/index.js';
import { createTestFleet, testLogger, waitFor, type TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;
let server: Server;
let port: number;
/** Sockets that sent their CONNECT and wait for a CONNACK. */
const waiting: TLSSocket[] = [];
/** Sockets accepted at once that sent their SUBSCRIBE, which is never answered. */
const subscribing: TLSSocket[] = [];
let acceptAtOnce = false;

test.before(async () => {
  fleet = await createTestFleet(['gw-slow']);
  const pki = join(fleet.dataDir, 'pki');
  // A server that reads the CONNECT and answers only when the test says so.
  server = createServer(
    { key: readFileSync(join(pki, 'server.key')), cert: readFileSync(join(pki, 'server.crt')) },
    (socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        if (!acceptAtOnce) return void waiting.push(socket);
        socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK, accepted
        socket.once('data', () => subscribing.push(socket));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

test.after(async () => {
  for (const socket of [...waiting, ...subscribing]) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await fleet.close();
});

/** An agent of the test's server, which answers as the test says. */
const slowAgent = () =>
  createAgent({ config: fleet.agentConfig('gw-slow', { server: `mqtts://127.0.0.1:${port}` }), log: testLogger() });

test('a CONNACK that arrives after close() began starts no session and crashes nothing', async () => {
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);
  process.on('uncaughtException', onCrash);
  try {
    const agent = await slowAgent();
    const socket = await waitFor(() => waiting[0], 'the agent sent its CONNECT');
    await agent.close();
    const gone = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK, accepted: too late
    await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))]);
    assert.equal(crashes, []);
    assert.is(agent.stats().connected, false);
    assert.ok(socket.destroyed, 'the connection of the closed agent is dropped, not kept open');
  } finally {
    process.off('uncaughtException', onCrash);
  }
});

interface Status {
  readonly state: string;
}

/** The QoS 1 PUBLISH packets in bytes a client sent (fixed header, topic, packet id, payload). */
function publishes(bytes: Buffer): { topic: string; payload: Buffer }[] {
  const out: { topic: string; payload: Buffer }[] = [];
  let i = 0;
  while (i < bytes.length) {
    const type = bytes[i]! >> 4;
    let length = 0;
    let shift = 0;
    let j = i + 1;
    for (;;) {
      const b = bytes[j++]!;
      length += (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) break;
    }
    if (type === 3) {
      const topicLength = bytes.readUInt16BE(j);
      const topic = bytes.subarray(j + 2, j + 2 + topicLength).toString();
      out.push({ topic, payload: bytes.subarray(j + 2 + topicLength + 2, j + length) });
    }
    i = j + length;
  }
  return out;
}

test('an agent closed while its SUBSCRIBE waits for the SUBACK announces nothing and crashes nothing', async () => {
  acceptAtOnce = true;
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);
  process.on('uncaughtException', onCrash);
  try {
    const agent = await slowAgent();
    const socket = await waitFor(() => subscribing[0], 'the agent sent its SUBSCRIBE');
    let after = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => (after = Buffer.concat([after, d])));
    await agent.close();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(crashes, []);
    // What went out after the SUBSCRIBE: the "offline" status the agent says when it stops, not "online".
    const states = publishes(after).map(
      (p) => (decode(fleet.openFromDevice('gw-slow', p.topic, p.payload)) as Status).state,
    );
    assert.not.ok(states.includes('online'), `published after close: ${states.join(', ')}`);
  } finally {
    process.off('uncaughtException', onCrash);
  }
});

test.run();
