// Discovery from /proc fixtures: address decoding (both byte orders, IPv6, mapped), listening filter,
// established counts, socket owners, and tolerance of garbage and unreadable entries.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { discoverListening, ScanError } from '../../agent/src/scan/index.js';
import { decodeAddress, formatIpv6, parseProcNet } from '../../agent/src/scan/discovery/index.js';

const fixtures = fileURLToPath(new URL('../fixtures/scan/proc/', import.meta.url));

/** A fake /proc: real net/ tables from the fixtures, invented processes. */
function fakeEnv(files: Record<string, string>, links: Record<string, string>, dirs: Record<string, string[]>) {
  const err = (code: string) => Object.assign(new Error(code), { code });
  return {
    endianness: 'LE' as const,
    readFile: async (p: string) => {
      if (p.startsWith('/proc/net/')) return readFileSync(`${fixtures}net/${p.slice(10)}`, 'utf8');
      if (p in files) return files[p]!;
      throw err('ENOENT');
    },
    readdir: async (p: string) => {
      if (p in dirs) return dirs[p]!;
      throw err('EACCES');
    },
    readlink: async (p: string) => {
      if (p in links) return links[p]!;
      throw err('ENOENT');
    },
  };
}

const env = fakeEnv(
  { '/proc/1/comm': 'sshd\n', '/proc/42/comm': 'redis-server\n', '/proc/100/comm': 'mosquitto\n' },
  {
    '/proc/1/fd/3': 'socket:[1001]',
    '/proc/1/fd/4': 'socket:[1005]',
    '/proc/42/fd/6': 'socket:[1002]',
    '/proc/42/fd/7': 'anon_inode:[eventpoll]',
    '/proc/100/fd/0': 'pipe:[5]',
    '/proc/100/fd/5': 'socket:[1004]',
  },
  {
    '/proc': ['1', '42', '77', '100', 'self', 'net'],
    '/proc/1/fd': ['3', '4'],
    '/proc/42/fd': ['6', '7'],
    '/proc/100/fd': ['0', '5', '9'],
  },
);

test('decodes little- and big-endian IPv4 words', () => {
  assert.equal(decodeAddress('0100007F:18EB', 'LE'), { address: '127.0.0.1', port: 6379 });
  assert.equal(decodeAddress('7F000001:18EB', 'BE'), { address: '127.0.0.1', port: 6379 });
  assert.equal(decodeAddress('0F02000A:075B', 'LE'), { address: '10.0.2.15', port: 1883 });
  assert.is(decodeAddress('0100007F:18E', 'LE'), undefined);
  assert.is(decodeAddress('nothex:0016', 'LE'), undefined);
});

test('decodes IPv6 words and formats per RFC 5952', () => {
  assert.equal(decodeAddress('00000000000000000000000001000000:0050', 'LE'), { address: '::1', port: 80 });
  assert.equal(decodeAddress('0000000000000000FFFF00000100007F:1F90', 'LE'), {
    address: '::ffff:127.0.0.1',
    port: 8080,
  });
  assert.equal(decodeAddress('B80D01200000000000000000010000FE:01BB', 'LE'), {
    address: '2001:db8::fe00:1',
    port: 443,
  });
  assert.is(formatIpv6([0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), '1:0:0:1::1');
  assert.is(
    formatIpv6([0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1]),
    '1::1:1:0:0:1',
    'the first of two equal runs',
  );
  assert.is(formatIpv6(new Array(16).fill(0)), '::');
});

test('parseProcNet skips garbage and keeps states and inodes', () => {
  const rows = parseProcNet(readFileSync(`${fixtures}net/tcp`, 'utf8'), 'tcp', 'LE');
  assert.is(rows.length, 7);
  assert.equal(
    rows.map((r) => r.state),
    [0x0a, 0x0a, 0x01, 0x01, 0x0a, 0x01, 0x06],
  );
  assert.equal(parseProcNet('header only\n', 'udp', 'LE'), []);
  assert.equal(parseProcNet('', 'udp', 'LE'), []);
});

test('discoverListening groups ports, counts connections and finds owners', async () => {
  const services = await discoverListening(env);
  const summary = services.map((s) => [
    s.transport,
    s.port,
    s.binds.join(' '),
    s.process?.name ?? '-',
    s.connections ?? null,
  ]);
  assert.equal(summary, [
    ['tcp', 22, '0.0.0.0 ::', 'sshd', 0],
    ['tcp', 80, '::1', '-', 0],
    ['tcp', 443, '2001:db8::fe00:1', '-', 0],
    ['tcp', 1883, '0.0.0.0', 'mosquitto', 1],
    ['tcp', 6379, '127.0.0.1', 'redis-server', 1],
    ['tcp', 8080, '::ffff:127.0.0.1', '-', 0],
    ['udp', 53, '127.0.0.53', '-', null],
    ['udp', 1900, '0.0.0.0', '-', null],
  ]);
  assert.is(services.find((s) => s.port === 6379)!.process!.pid, 42);
});

test('no readable /proc/net is SCAN_DISCOVERY_FAILED', async () => {
  try {
    await discoverListening({ ...env, readFile: async () => Promise.reject(new Error('ENOENT')) });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ScanError);
    assert.is((err as ScanError).code, 'SCAN_DISCOVERY_FAILED');
  }
});

test('random garbage in /proc/net never throws', async () => {
  let seed = 3;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = '0123456789ABCDEF: \n\t xyz';
  for (let i = 0; i < 300; i++) {
    let text = '';
    for (let j = 0; j < 400; j++) text += alphabet[Math.floor(rnd() * alphabet.length)];
    parseProcNet(text, 'tcp', 'LE');
    parseProcNet(text, 'udp', 'BE');
  }
});

test.run();
