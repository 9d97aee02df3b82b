// The PROXY protocol header parser (versions 1 and 2): the headers HAProxy sends, byte by byte as they may arrive,
// and hostile ones, each refused with FLEET_PROXY_HEADER and a message saying what is wrong.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseProxyHeader, V1_MAX_BYTES, V2_MAX_PAYLOAD_BYTES } from '../../broker/src/net/proxy-header.js';
import { parseFleetConfig } from '../../broker/src/config.js';
import { parseAddressOrSubnet, trustedProxies } from '../../broker/src/net/proxied-listener.js';

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A version 2 header: command (0 LOCAL, 1 PROXY), family/transport byte, address block, TLVs. */
function v2(command: number, famTransport: number, block: Buffer, tlvs = Buffer.alloc(0)): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(block.length + tlvs.length);
  return Buffer.concat([SIG, Buffer.from([0x20 | command, famTransport]), len, block, tlvs]);
}

function ipv4Block(src: string, dst: string, srcPort: number, dstPort: number): Buffer {
  const b = Buffer.alloc(12);
  Buffer.from(src.split('.').map(Number)).copy(b, 0);
  Buffer.from(dst.split('.').map(Number)).copy(b, 4);
  b.writeUInt16BE(srcPort, 8);
  b.writeUInt16BE(dstPort, 10);
  return b;
}

function refused(buf: Buffer, message: RegExp): void {
  try {
    parseProxyHeader(buf);
  } catch (err) {
    assert.is((err as { code?: string }).code, 'FLEET_PROXY_HEADER');
    assert.match((err as Error).message, message);
    return;
  }
  assert.unreachable(`accepted ${buf.toString('hex').slice(0, 80)}`);
}

test('v2 PROXY over IPv4: the device address and port, the header length, and the bytes after it left alone', () => {
  const header = v2(1, 0x11, ipv4Block('10.1.2.3', '10.0.0.1', 40123, 8883));
  const r = parseProxyHeader(Buffer.concat([header, Buffer.from([0x16, 0x03, 0x01])]));
  assert.equal(r, {
    done: true,
    length: header.length,
    source: { kind: 'proxied', address: '10.1.2.3', port: 40123, family: 'IPv4' },
  });
});

test('v2 arriving a byte at a time: not done until its last byte, then the same answer', () => {
  const header = v2(1, 0x11, ipv4Block('192.0.2.9', '192.0.2.1', 1, 8883), Buffer.from([0x04, 0x00, 0x01, 0x00]));
  for (let n = 1; n < header.length; n++)
    assert.equal(parseProxyHeader(header.subarray(0, n)), { done: false }, `${n}`);
  const r = parseProxyHeader(header);
  assert.ok(r.done);
  if (r.done) assert.is(r.length, header.length, 'TLVs are part of the header and skipped');
});

test('v2 PROXY over IPv6: the address in the compressed form Node reports', () => {
  const block = Buffer.alloc(36);
  Buffer.from('20010db8000000000000000000000042', 'hex').copy(block, 0);
  Buffer.from('00000000000000000000000000000001', 'hex').copy(block, 16);
  block.writeUInt16BE(50000, 32);
  block.writeUInt16BE(8883, 34);
  const r = parseProxyHeader(v2(1, 0x21, block));
  assert.equal(r.done && r.source, { kind: 'proxied', address: '2001:db8::42', port: 50000, family: 'IPv6' });
});

test("v2 LOCAL (a balancer's health check), UNSPEC and UNIX: the connection's own address stands", () => {
  for (const header of [
    v2(0, 0x00, Buffer.alloc(0)),
    v2(0, 0x11, ipv4Block('1.2.3.4', '5.6.7.8', 1, 2)),
    v2(1, 0x00, Buffer.alloc(0)),
    v2(1, 0x31, Buffer.alloc(216)),
  ]) {
    const r = parseProxyHeader(header);
    assert.equal(r, { done: true, length: header.length, source: { kind: 'local' } });
  }
});

test('v1 TCP4, TCP6 and UNKNOWN, also a byte at a time', () => {
  const line = Buffer.from('PROXY TCP4 198.51.100.7 203.0.113.1 51000 8883\r\n');
  for (let n = 1; n < line.length; n++) assert.equal(parseProxyHeader(line.subarray(0, n)), { done: false });
  assert.equal(parseProxyHeader(Buffer.concat([line, Buffer.from('\x16\x03')])), {
    done: true,
    length: line.length,
    source: { kind: 'proxied', address: '198.51.100.7', port: 51000, family: 'IPv4' },
  });
  const six = parseProxyHeader(Buffer.from('PROXY TCP6 2001:0db8::0001 ::1 65535 8883\r\n'));
  assert.equal(six.done && six.source, { kind: 'proxied', address: '2001:db8::1', port: 65535, family: 'IPv6' });
  const unknown = Buffer.from('PROXY UNKNOWN ffff::1 whatever\r\n');
  assert.equal(parseProxyHeader(unknown), { done: true, length: unknown.length, source: { kind: 'local' } });
});

test('hostile or broken headers are refused, each saying what is wrong', () => {
  refused(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), /does not start with one/); // a TLS ClientHello
  refused(Buffer.from('GET / HTTP/1.1\r\n'), /does not start with one/);
  refused(Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 1\r\n'), /is not PROXY TCP4\|TCP6/);
  refused(Buffer.from('PROXY TCP5 10.0.0.1 10.0.0.2 1 2\r\n'), /protocol "TCP5"/);
  refused(Buffer.from('PROXY TCP4 ::1 10.0.0.2 1 2\r\n'), /not TCP4/);
  refused(Buffer.from('PROXY TCP6 10.0.0.1 ::1 1 2\r\n'), /not TCP6/);
  refused(Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 65536 2\r\n'), /port "65536"/);
  refused(Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 01 2\r\n'), /port "01"/);
  refused(Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 -1 2\r\n'), /port "-1"/);
  refused(Buffer.from(`PROXY ${'A'.repeat(V1_MAX_BYTES)}`), /no CRLF within 107 bytes/);
  refused(Buffer.from(`PROXY UNKNOWN ${'A'.repeat(V1_MAX_BYTES)}\r\n`), /longer than 107 bytes/);
  refused(Buffer.from('PROXY TCP4 10.0.0.1 10.0.0.2 1 \x00\x01\r\n'), /port "\?\?"/);
  const block = ipv4Block('1.2.3.4', '5.6.7.8', 1, 2);
  refused(Buffer.concat([SIG, Buffer.from([0x11, 0x11, 0x00, 0x0c]), block]), /version 1/);
  refused(Buffer.concat([SIG, Buffer.from([0x22, 0x11, 0x00, 0x0c]), block]), /command 2/);
  refused(v2(1, 0x41, block), /address family 4/);
  refused(v2(1, 0x12, block), /transport 2/);
  refused(v2(1, 0x11, block.subarray(0, 8)), /IPv4 address block shorter than 12 bytes/);
  refused(v2(1, 0x21, Buffer.alloc(20)), /IPv6 address block shorter than 36 bytes/);
  // Too long a header is refused from its length field, before its body is waited for.
  const long = Buffer.concat([SIG, Buffer.from([0x21, 0x11]), Buffer.from([0xff, 0xff])]);
  refused(long, new RegExp(`65535 bytes of addresses and TLVs \\(at most ${V2_MAX_PAYLOAD_BYTES}\\)`));
});

test('trusted proxies: addresses and CIDR subnets, IPv4 and IPv6; anything else is not one', () => {
  assert.equal(parseAddressOrSubnet('10.0.0.5'), { address: '10.0.0.5', prefix: 32, family: 'ipv4' });
  assert.equal(parseAddressOrSubnet('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  assert.equal(parseAddressOrSubnet('fd00::/8'), { address: 'fd00::', prefix: 8, family: 'ipv6' });
  for (const bad of ['10.0.0.0/33', '10.0.0/8', 'fd00::/129', '10.0.0.1/08', 'haproxy', '10.0.0.1/8/8', '', '/8'])
    assert.is(parseAddressOrSubnet(bad), undefined, bad);
  const trusted = trustedProxies(['127.0.3.1', '10.1.0.0/16', 'fd00::/8']);
  assert.ok(trusted.check('127.0.3.1', 'ipv4'));
  assert.not.ok(trusted.check('127.0.3.2', 'ipv4'));
  assert.ok(trusted.check('10.1.200.3', 'ipv4'));
  assert.not.ok(trusted.check('10.2.0.1', 'ipv4'));
  assert.ok(trusted.check('fd12::1', 'ipv6'));
});

test('the config lists every bad trusted proxy at once, and takes good ones', () => {
  assert.equal(parseFleetConfig({}).proxyProtocol.trustedProxies, []);
  assert.equal(parseFleetConfig({ proxyProtocol: { trustedProxies: ['10.0.0.0/8', '::1'] } }).proxyProtocol, {
    trustedProxies: ['10.0.0.0/8', '::1'],
  });
  try {
    parseFleetConfig({ proxyProtocol: { trustedProxies: ['haproxy.local', '10.0.0.0/99', 7] } });
    assert.unreachable('accepted');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'FLEET_CONFIG_INVALID');
    const message = (err as Error).message;
    assert.match(message, /proxyProtocol\.trustedProxies\[0\]: "haproxy\.local" is not an IPv4 or IPv6 address/);
    assert.match(message, /proxyProtocol\.trustedProxies\[1\]: "10\.0\.0\.0\/99" is not/);
    assert.match(message, /proxyProtocol\.trustedProxies\[2\]: expected a string/);
  }
});

test.run();
