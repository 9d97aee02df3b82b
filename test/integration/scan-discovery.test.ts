// Discovery on this host's real /proc (our own sockets and process), and a listening-mode scan driven by a
// /proc fixture so that no socket of anyone else on this machine is probed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultEnv, discoverListening, runScan } from '../../agent/src/scan/index.js';
import { tmpDir } from '../helpers/tmp.js';
import * as S from '../fixtures/scan/services.js';

const services = new S.Services();
test.after(() => services.stopAll());

test('finds our own TCP and UDP listeners, their process and an established connection', async () => {
  const tcp = services.add(await S.startTelnetLike());
  const udp = services.add(await S.startSsdpLike());
  const client: Socket = connect({ host: '127.0.0.1', port: tcp.port });
  await new Promise((r) => client.once('connect', r));
  try {
    const found = await discoverListening(defaultEnv);
    const t = found.find((s) => s.transport === 'tcp' && s.port === tcp.port);
    const u = found.find((s) => s.transport === 'udp' && s.port === udp.port);
    assert.ok(t && u, 'both sockets are listed');
    assert.equal(t!.binds, ['127.0.0.1']);
    assert.equal(t!.process, { pid: process.pid, name: t!.process!.name });
    assert.match(t!.process!.name, /node/);
    assert.is(t!.connections, 1);
    assert.is(u!.process?.pid, process.pid);
  } finally {
    client.destroy();
  }
});

test('listening mode probes what /proc lists, on its bind address, with exposure from the bind', async () => {
  const telnet = services.add(await S.startTelnetLike());
  const ssdp = services.add(await S.startSsdpLike());
  const root = tmpDir('edgeward-proc-');
  mkdirSync(join(root, 'net'));
  const hex = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');
  const head = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  // Telnet bound to all interfaces (the scanner must probe it on 127.0.0.1 and call it exposed).
  writeFileSync(
    join(root, 'net', 'tcp'),
    `${head}   0: 00000000:${hex(telnet.port)} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0     ` +
      `   0 424242 1 0 100 0 0 10 0\n`,
  );
  writeFileSync(
    join(root, 'net', 'udp'),
    `${head}   0: 0100007F:${hex(ssdp.port)} 00000000:0000 07 00000000:00000000 00:00000000 00000000     0 ` +
      `       0 434343 2 0 0\n`,
  );
  const report = await runScan({ procRoot: root, deviceId: 'it-discovery-01' });
  assert.is(report.scan.target, 'local');
  assert.equal(
    report.services.map((s) => [s.transport, s.port, s.bind, s.loopbackOnly, s.protocol]),
    [
      ['tcp', telnet.port, '0.0.0.0', false, 'telnet'],
      ['udp', ssdp.port, '127.0.0.1', true, 'ssdp'],
    ],
  );
  assert.equal(
    report.findings.map((f) => `${f.check}:${f.severity}`),
    ['telnet.open:critical', 'net.exposed-all-interfaces:medium', 'upnp.open:low'],
  );
});

test.run();
