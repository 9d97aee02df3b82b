// bench/half-open-flood: `fleet serve` (dist/fleet.js) under a half-open TLS flood — connections from many loopback
// source addresses, each stopped halfway through its ClientHello and held by flood processes (a process holds at
// most 20,000 files, so the server and the flood never share that budget). While the flood is held, a device with a
// valid certificate connects and publishes one QoS 1 message, and /healthz and /metrics are read. Reports the
// server's descriptors and RSS, the refusals, and how long the device took.
// Run: node --import tsx bench/half-open-flood.ts [--sockets 10000] [--addresses 50] [--per-second 2000]
//      [--uncapped]   (caps set to their maxima: what the server did before it capped half-open connections)
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { encode } from '../shared/src/index.js';
import { startHalfOpenFlood } from '../test/helpers/half-open-flood.js';
import { ensureBuilt, fleetSync, fmt, loadAverage, serveArgs, startProc, waitForPort } from './lib/procs.js';

const { values } = parseArgs({
  options: {
    sockets: { type: 'string', default: '10000' },
    addresses: { type: 'string', default: '50' },
    /** Per flood process; 0 is as fast as the kernel completes connections. */
    'per-second': { type: 'string', default: '2000' },
    uncapped: { type: 'boolean', default: false },
  },
});
const sockets = Number(values.sockets);
const addresses = Number(values.addresses);

ensureBuilt();
const node = process.execPath;
const dir = mkdtempSync(join(tmpdir(), 'edgeward-bench-flood-'));
const data = join(dir, 'data');
fleetSync(['pki', 'init', '--data', data]);
fleetSync(['device', 'add', 'gw-honest', '--data', data, '--out', join(dir, 'gw-honest')]);
// The flood must still be held when the device connects: handshakes may take 60 s here (10 s by default).
const limits: Record<string, number> = { connectTimeoutSeconds: 60 };
if (values.uncapped)
  Object.assign(limits, { maxPendingHandshakesPerAddress: 100_000, maxPendingHandshakes: 1_000_000 });
writeFileSync(join(dir, 'config.json'), JSON.stringify({ limits }));

const port = 19900 + Math.floor(Math.random() * 90);
const server = startProc(
  node,
  serveArgs({ data, config: join(dir, 'config.json'), mqttPort: port, httpPort: port + 1 }),
);
const openFiles = () => {
  try {
    return readdirSync(`/proc/${server.child.pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
};
const creds = (f: string) => readFileSync(join(dir, 'gw-honest', f));

function get(path: string): Promise<{ status: number | string; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      `https://127.0.0.1:${port + 1}${path}`,
      { ca: creds('ca.crt'), servername: 'localhost', timeout: 10_000 },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out after 10 s')));
    req.on('error', (e) => resolve({ status: e.message, body: '' }));
    req.end();
  });
}
const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);

async function honestDevice(): Promise<string> {
  const t0 = Date.now();
  try {
    const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
      clientId: 'gw-honest',
      key: creds('device.key'),
      cert: creds('device.crt'),
      ca: creds('ca.crt'),
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 20_000,
    });
    const connected = Date.now() - t0;
    const now = Date.now();
    const body = {
      v: 1,
      id: 'bench-flood-0001',
      ts: now,
      stream: 'bench-flood',
      samples: [{ seq: 1, ts: now, m: {} }],
    };
    await c.publishAsync('fleet/v1/gw-honest/telemetry', encode(body), { qos: 1 });
    const acked = Date.now() - t0;
    await c.endAsync();
    return `connected in ${connected} ms, PUBACK (stored) after ${acked} ms`;
  } catch (err) {
    return `FAILED after ${Date.now() - t0} ms: ${(err as Error).message}`;
  }
}

try {
  await waitForPort(port);
  const before = { files: openFiles(), rss: server.rss() };
  console.log(
    `fleet serve ${values.uncapped ? 'WITHOUT handshake caps' : 'with the default handshake caps'}; ` +
      `flood: ${fmt(sockets)} half-open sockets from ${addresses} addresses (load average ${loadAverage()})`,
  );
  let peakFiles = before.files;
  const sampler = setInterval(() => (peakFiles = Math.max(peakFiles, openFiles() || 0)), 100);
  const t0 = Date.now();
  const flood = startHalfOpenFlood({ port, sockets, addresses, perSecond: Number(values['per-second']) });
  const ready = await flood.ready;
  await new Promise((r) => setTimeout(r, 1000)); // the server accepts what waits in its backlog
  const held = await flood.stats();
  console.log(`  flood opened ${fmt(ready.connected)} of ${fmt(ready.attempted)} in ${fmt(Date.now() - t0)} ms;`);
  console.log(`  the server closed ${fmt(held.closedByServer)}; the flood still holds ${fmt(held.held)}`);
  const device = await honestDevice();
  const healthz = await get('/healthz');
  const m = (await get('/metrics')).body;
  console.log(`  device with a valid certificate: ${device}`);
  console.log(`  /healthz: ${healthz.status}`);
  console.log(
    `  server: ${fmt(openFiles())} open files now, peak ${fmt(peakFiles)} (before ${before.files}); ` +
      `RSS ${fmt(server.rss() / 2 ** 20)} MiB (before ${fmt(before.rss / 2 ** 20)} MiB)`,
  );
  const refused = (r: string) => metric(m, `edgeward_denials_total\\{kind="connect",reason="${r}"\\}`);
  console.log(
    `  /metrics: pending handshakes ${fmt(metric(m, 'edgeward_pending_handshakes'))}, refused per address ` +
      `${fmt(refused('handshakes-per-address'))}, evicted at the total cap ${fmt(refused('handshakes-total'))}`,
  );
  await flood.stop();
  clearInterval(sampler);
  const t1 = Date.now();
  while (openFiles() > before.files + 20 && Date.now() - t1 < 15_000) await new Promise((r) => setTimeout(r, 100));
  console.log(`  flood stopped: ${fmt(openFiles())} open files after ${fmt(Date.now() - t1)} ms`);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
