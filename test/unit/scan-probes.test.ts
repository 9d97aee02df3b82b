// Probe parsers and recognisers against crafted and random bytes, and whole scans of hostile in-process servers:
// garbage, floods and silence give "unknown", never a crash, and reads stay capped.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runScan } from '../../agent/src/scan/index.js';
import { decodeTopLevel, encodeDoc } from '../../agent/src/scan/probes/bson.js';
import { connectPacket, mqttProbe, readFrame, subscribePacket } from '../../agent/src/scan/probes/mqtt.js';
import { replyTo } from '../../agent/src/scan/probes/mongodb.js';
import { postgresProbe, startupOutcome } from '../../agent/src/scan/probes/postgres.js';
import { redisProbe } from '../../agent/src/scan/probes/redis.js';
import { memcachedProbe } from '../../agent/src/scan/probes/memcached.js';
import { modbusProbe, readDeviceIdRequest } from '../../agent/src/scan/probes/modbus.js';
import { httpProbe } from '../../agent/src/scan/probes/http.js';
import { SERVER_FIRST } from '../../agent/src/scan/probes/banner.js';
import { ssdpFacts } from '../../agent/src/scan/probes/ssdp.js';
import { parseResponse, responseComplete } from '../../agent/src/scan/net/http-client.js';

test('MQTT packets follow MQTT 3.1.1 and CONNACK is recognised strictly', () => {
  assert.equal(
    [...connectPacket('edgeward-1')],
    [0x10, 22, 0, 4, 77, 81, 84, 84, 4, 2, 0, 30, 0, 10, ...Buffer.from('edgeward-1')],
  );
  assert.is(subscribePacket()[0], 0x82);
  assert.is(mqttProbe.recognise(Buffer.from([0x20, 0x02, 0x00, 0x00]), false), 'yes');
  assert.is(mqttProbe.recognise(Buffer.from([0x20, 0x02, 0x00, 0x05]), false), 'yes');
  assert.is(mqttProbe.recognise(Buffer.from([0x20, 0x02]), false), 'more');
  assert.is(mqttProbe.recognise(Buffer.from([0x20, 0x03, 0, 0]), false), 'no');
  assert.is(mqttProbe.recognise(Buffer.from('HTTP/1.1 400'), false), 'no');
  assert.equal(readFrame(Buffer.from([0x90, 0x04, 0, 1, 0, 0x80])), {
    type: 9,
    flags: 0,
    body: Buffer.from([0, 1, 0, 0x80]),
    size: 6,
  });
  assert.is(readFrame(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f])), undefined, 'five-byte length is malformed');
});

test('client-first recognisers say yes only to their own protocol', () => {
  const replies: Record<string, Buffer> = {
    http: Buffer.from('HTTP/1.1 200 OK\r\n\r\n'),
    mqtt: Buffer.from([0x20, 0x02, 0x00, 0x00]),
    redis: Buffer.from('+PONG\r\n'),
    memcached: Buffer.from('VERSION 1.6.18\r\n'),
    postgresql: Buffer.from('N'),
    modbus: Buffer.from([0x45, 0x57, 0, 0, 0, 3, 1, 0xab, 1]),
    ssh: Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'),
    memcachedError: Buffer.from('ERROR\r\nERROR\r\n'),
    redisError: Buffer.from('-ERR unknown command\r\n'),
  };
  const probes = {
    http: httpProbe,
    mqtt: mqttProbe,
    redis: redisProbe,
    memcached: memcachedProbe,
    postgresql: postgresProbe,
    modbus: modbusProbe,
  };
  for (const [name, probe] of Object.entries(probes)) {
    for (const [replyName, reply] of Object.entries(replies)) {
      const verdict = probe.recognise(reply, true);
      assert.is(verdict, replyName === name ? 'yes' : 'no', `${name} on ${replyName}`);
    }
  }
  assert.is(redisProbe.recognise(Buffer.from('-NOAUTH Authentication required.\r\n'), false), 'yes');
  assert.is(
    postgresProbe.recognise(Buffer.from('S'), false),
    'more',
    'one byte might be the start of something longer',
  );
});

test('server-first banners', () => {
  const name = (b: string | Buffer) =>
    SERVER_FIRST.find((p) => p.recognise(Buffer.isBuffer(b) ? b : Buffer.from(b)))?.name;
  assert.is(name('SSH-2.0-OpenSSH_9.2p1 Debian\r\n'), 'ssh');
  assert.is(name('220 (vsFTPd 3.0.3)\r\n'), 'ftp');
  assert.is(name('220 mail.example.com ESMTP Postfix\r\n'), 'smtp');
  assert.is(name(Buffer.from([0xff, 0xfd, 0x18, 0x0d, 0x0a])), 'telnet');
  assert.is(name('\r\nBusyBox v1.36 login: '), 'telnet');
  assert.is(name('RFB 003.008\n'), 'vnc');
  assert.is(name(Buffer.concat([Buffer.from([0x4a, 0, 0, 0, 0x0a]), Buffer.from('8.0.36\0')])), 'mysql');
  assert.is(name('hello there\r\n'), undefined);
});

test('PostgreSQL startup replies', () => {
  const msg = (type: string, body: Buffer) =>
    Buffer.concat([Buffer.from(type), Buffer.from([0, 0, 0, body.length + 4]), body]);
  assert.equal(startupOutcome(msg('R', Buffer.from([0, 0, 0, 0]))), { accepted: true, detail: 'AuthenticationOk' });
  assert.equal(startupOutcome(msg('R', Buffer.from([0, 0, 0, 10, ...Buffer.from('SCRAM-SHA-256\0\0')]))), {
    accepted: false,
    detail: 'AuthenticationSASL',
  });
  assert.match(
    startupOutcome(msg('E', Buffer.from('SFATAL\0Mno pg_hba.conf entry\0\0')))!.detail,
    /no pg_hba\.conf entry/,
  );
  assert.is(startupOutcome(Buffer.from('R\0\0')), undefined, 'incomplete');
});

test('BSON and OP_MSG replies are bounds-checked', () => {
  const doc = encodeDoc({ ok: 1, version: '7.0.2' });
  assert.equal({ ...decodeTopLevel(doc) }, { ok: 1, version: '7.0.2' });
  const reply = Buffer.concat([Buffer.alloc(21), doc]);
  reply.writeInt32LE(reply.length, 0);
  reply.writeInt32LE(99, 4);
  reply.writeInt32LE(1, 8);
  reply.writeInt32LE(2013, 12);
  assert.equal({ ...replyTo(reply, 1) }, { ok: 1, version: '7.0.2' });
  assert.is(replyTo(reply, 2), null, 'a reply to another request');
  assert.is(replyTo(reply.subarray(0, 30), 1), undefined, 'incomplete');
  let seed = 5;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.alloc(1 + Math.floor(rnd() * 60));
    for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
    if (i % 2 && b.length >= 4) b.writeInt32LE(b.length, 0);
    decodeTopLevel(b);
    replyTo(b, 1);
  }
});

test('HTTP and SSDP parsers survive hostile replies', () => {
  const r = parseResponse(
    Buffer.from(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nA: 1\r\na: 2\r\nTransfer-Encoding: ' +
        'chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    ),
  )!;
  assert.equal(
    { ...r, headers: { ...r.headers } },
    { status: 200, headers: { a: '1, 2', 'transfer-encoding': 'chunked' }, body: 'abc' },
  );
  assert.is(
    Object.getPrototypeOf(parseResponse(Buffer.from('HTTP/1.1 200 OK\r\n__proto__: x\r\n\r\n'))!.headers),
    null,
    'hostile header names cannot reach a prototype',
  );
  assert.ok(responseComplete(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc'), 'GET'));
  assert.not.ok(responseComplete(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc'), 'GET'));
  assert.ok(responseComplete(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n'), 'HEAD'));
  assert.is(ssdpFacts(Buffer.from('HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n'))?.st, 'upnp:rootdevice');
  assert.is(ssdpFacts(Buffer.from('HTTP/1.1 200 OK\r\nServer: x\r\n\r\n')), undefined);
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.alloc(Math.floor(rnd() * 120));
    for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
    const withHead = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), b]);
    parseResponse(b);
    parseResponse(withHead);
    responseComplete(withHead, 'GET');
    ssdpFacts(withHead);
    for (const p of [httpProbe, mqttProbe, redisProbe, memcachedProbe, postgresProbe, modbusProbe])
      p.recognise(b, i % 2 === 0);
    for (const p of SERVER_FIRST) p.recognise(b);
  }
  assert.is(readDeviceIdRequest().length, 11);
});

function serve(onConnection: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.on('error', () => undefined);
    onConnection(s);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port })),
  );
}

test('hostile servers: garbage, a flood, silence and instant close are "unknown", never a crash', async () => {
  let seed = 99;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  let flooded = 0;
  const servers = await Promise.all([
    serve((s) => s.on('data', () => s.write(Buffer.from(Array.from({ length: 300 }, () => Math.floor(rnd() * 256)))))),
    serve((s) => {
      // Sends far more than any probe keeps: the reader must stop at its cap.
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = () => {
        while (!s.destroyed && flooded < 8 * 1024 * 1024 && s.write(chunk)) flooded += chunk.length;
      };
      s.on('drain', pump);
      pump();
    }),
    serve(() => undefined),
    serve((s) => s.destroy()),
  ]);
  try {
    const report = await runScan({
      ports: servers.map((x) => x.port).join(','),
      probeTimeoutMs: 400,
      bannerWaitMs: 100,
      deviceId: 'hostile-test',
      env: { localAddresses: () => ['127.0.0.1'] },
    });
    assert.is(report.findings.length, 0);
    assert.ok(report.services.length >= 3);
    for (const s of report.services)
      assert.ok(['unknown', 'telnet'].includes(s.protocol) || s.protocol.length > 0, s.protocol);
    assert.ok(flooded < 8 * 1024 * 1024, `the flood was cut off after ${flooded} bytes`);
  } finally {
    for (const { server } of servers) server.close();
  }
});

test.run();
