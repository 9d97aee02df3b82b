// bench/broker-throughput: the same QoS 1 mTLS publish load against `fleet serve` with all protections on,
// `fleet serve` with them off (ACL, per-device rate limits; EDGEWARD_BENCH_UNPROTECTED=1), and mosquitto 2,
// back to back. Each message is counted once on arrival: by what edgeward stored (SQLite rows), and by a
// QoS 1 subscriber on mosquitto. Run: node --import tsx bench/broker-throughput.ts [--clients 50] [--seconds 10]
// The protected run uses a device type whose rate limit is above the offered load, so what is measured is
// the cost of checking every packet, not throttling.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { startLoad } from './lib/load.js';
import { ensureBuilt, fmt, root, startProc, waitForPort, type Proc } from './lib/procs.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '50' },
    window: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
});
const clients = Number(values.clients);
const window = Number(values.window);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);

ensureBuilt();
const work = mkdtempSync(join(tmpdir(), 'edgeward-bench-'));
const data = join(work, 'data');
const devices = join(work, 'devices');
const fleet = (args: string[]) => {
  const r = spawnSync(process.execPath, [`${root}dist/fleet.js`, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fleet ${args.join(' ')} failed: ${r.stderr}`);
};
fleet(['pki', 'init', '--data', data]);
fleet(['device', 'add', '--bulk', String(clients), '--prefix', 'bench-', '--data', data, '--out', devices]);
fleet(['device', 'add', 'bench-counter', '--data', data, '--out', join(devices, 'bench-counter')]);
const ids = Array.from({ length: clients }, (_, i) => `bench-${String(i + 1).padStart(5, '0')}`);

interface Result {
  name: string;
  acked: number;
  counted: number;
  errors: number;
  payload: number;
  rss: number;
}

async function measure(name: string, url: string, counted: () => number, server: Proc): Promise<Result> {
  const load = await startLoad({ url, devicesDir: devices, ids, window });
  await new Promise((r) => setTimeout(r, warmup * 1000));
  const a0 = load.acked();
  const c0 = counted();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const a1 = load.acked();
  const c1 = counted();
  const rss = server.peakRss();
  await load.stop();
  return { name, acked: (a1 - a0) / seconds, counted: (c1 - c0) / seconds, errors: load.errors(), payload: load.payloadBytes, rss };
}

const benchConfig = join(work, 'fleet.json');
writeFileSync(benchConfig, JSON.stringify({ deviceTypes: { default: { messagesPerSecond: 1e5, burstMessages: 1e5, bytesPerSecond: 1e8, burstBytes: 1e8, disconnectAfterSeconds: 60 } } }));

async function edgeward(protections: boolean): Promise<Result> {
  const port = 18900 + Math.floor(Math.random() * 500);
  const env = { ...process.env, ...(protections ? {} : { EDGEWARD_BENCH_UNPROTECTED: '1' }) };
  const server = startProc(process.execPath, [`${root}dist/fleet.js`, 'serve', '--data', data, '--config', benchConfig, '--mqtt-port', String(port), '--http-port', String(port + 1), '--log-level', 'error'], env);
  try {
    await waitForPort(port);
    const db = new Database(join(data, 'fleet.db'), { readonly: true });
    const count = db.prepare('SELECT count(*) FROM telemetry').pluck();
    const r = await measure(`edgeward, protections ${protections ? 'on' : 'off'}`, `mqtts://127.0.0.1:${port}`, () => count.get() as number, server);
    db.close();
    return r;
  } finally {
    await server.stop();
  }
}

async function mosquitto(): Promise<Result> {
  const port = 19500 + Math.floor(Math.random() * 400);
  const conf = join(work, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      'user root',
      'persistence false',
      'log_dest none',
      `listener ${port} 127.0.0.1`,
      `cafile ${data}/pki/ca.crt`,
      `certfile ${data}/pki/server.crt`,
      `keyfile ${data}/pki/server.key`,
      'tls_version tlsv1.2',
      'require_certificate true',
      'use_identity_as_username true',
      'allow_anonymous false',
      'max_inflight_messages 0',
      'max_queued_messages 0',
      '',
    ].join('\n'),
  );
  const server = startProc('mosquitto', ['-c', conf]);
  try {
    await waitForPort(port);
    const d = join(devices, 'bench-counter');
    const counter = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
      clientId: 'bench-counter',
      key: readFileSync(join(d, 'device.key')),
      cert: readFileSync(join(d, 'device.crt')),
      ca: readFileSync(join(d, 'ca.crt')),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    let n = 0;
    counter.on('message', () => n++);
    await counter.subscribeAsync('fleet/v1/+/telemetry', { qos: 1 });
    const r = await measure('mosquitto 2', `mqtts://127.0.0.1:${port}`, () => n, server);
    await counter.endAsync(true);
    return r;
  } finally {
    await server.stop();
  }
}

console.log(`broker-throughput: ${clients} mTLS clients × ${window} in flight, QoS 1, ${warmup}s warm-up + ${seconds}s measured`);
const ours = await edgeward(true);
const open = await edgeward(false);
const theirs = await mosquitto();
const rows = [ours, open, theirs];
console.log('');
console.log(`${'broker'.padEnd(22)} ${'payload B'.padStart(9)} ${'acked msg/s'.padStart(12)} ${'counted msg/s'.padStart(14)} ${'errors'.padStart(7)} ${'peak RSS MB'.padStart(12)}`);
for (const r of rows) {
  console.log(`${r.name.padEnd(22)} ${String(r.payload).padStart(9)} ${fmt(r.acked).padStart(12)} ${fmt(r.counted).padStart(14)} ${String(r.errors).padStart(7)} ${fmt(r.rss / 1048576, 1).padStart(12)}`);
}
console.log('');
console.log(`ratio edgeward (protected) / mosquitto, counted msg/s: ${(ours.counted / theirs.counted).toFixed(2)}`);
console.log(`cost of security (1 - protected / unprotected): ${((1 - ours.counted / open.counted) * 100).toFixed(1)}%  (target ≤ 15%)`);
console.log('edgeward counts rows committed to SQLite (PUBACK after commit); mosquitto counts deliveries to a QoS 1 subscriber.');
if (!values.keep) rmSync(work, { recursive: true, force: true });
