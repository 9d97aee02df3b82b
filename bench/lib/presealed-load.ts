// A load generator whose messages are built, and sealed, before the timed part: each device's telemetry messages
// (one sample each, distinct sequence numbers on a fresh stream, the agent's own message shape) are encoded and
// sealed for the backend in advance, so that during the measurement the generator only publishes. With the real
// agents (the simulator), sealing on the device side took ~45 µs/msg of the same 2 cores the server runs on, and
// the sealed runs measured the generator as much as the server.
// Parent side: startPresealedLoad() forks the workers; this same file, started with the argument `worker`, is one.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { createFakePlatform } from '../../agent/src/index.js';
import {
  BACKEND_KEY_FILE,
  deviceTopic,
  encode,
  parseSealPublicKeyPem,
  parseSealSecretKeyPem,
  SEAL_KEY_FILE,
  sealChannel,
  sealMessage,
} from '../../shared/src/index.js';

export interface PresealedLoadOptions {
  readonly url: string;
  /** A fleet data folder whose sim/<id>/ folders hold the devices' identities (bench/broker-throughput's). */
  readonly dataDir: string;
  readonly devices: number;
  readonly workers: number;
  /** Seal each message for the backend (false: plain messages, for `sealing: "optional"` and mosquitto). */
  readonly sealing: boolean;
  /** Messages built per device; a device that has sent them all stops (reported as `exhausted`). */
  readonly perDevice: number;
  /** QoS 1 publishes in flight per device (the agent's sender keeps 8). */
  readonly inflight: number;
}

export interface PresealedLoad {
  /** Every device connected with its messages built: the timed part may start. */
  go(): void;
  /** Messages acknowledged so far (by the workers' last reports, every 250 ms). */
  acked(): number;
  /** Stops publishing, waits for what is in flight (at most `drainMs`), disconnects. */
  stop(drainMs: number): Promise<{ errors: number; exhausted: number }>;
}

type Job = Omit<PresealedLoadOptions, 'workers' | 'devices'> & { readonly ids: readonly string[] };
type ToWorker = { type: 'job'; job: Job } | { type: 'go' } | { type: 'stop'; drainMs: number };
type FromWorker =
  | { type: 'ready' }
  | { type: 'acked'; n: number }
  | { type: 'stopped'; n: number; errors: number; exhausted: number }
  | { type: 'failed'; message: string };

/** Forks the workers and resolves once all have built their messages and connected their devices. */
export async function startPresealedLoad(o: PresealedLoadOptions): Promise<PresealedLoad> {
  const ids = readdirSync(join(o.dataDir, 'sim'))
    .filter((n) => n.startsWith('sim-'))
    .sort()
    .slice(0, o.devices);
  if (ids.length < o.devices) throw new Error(`${o.dataDir}/sim holds ${ids.length} identities, not ${o.devices}`);
  const children: ChildProcess[] = [];
  const acked: number[] = [];
  const waits: ((m: FromWorker) => void)[][] = [];
  const next = (w: number) => new Promise<FromWorker>((resolve) => waits[w]!.push(resolve));
  for (let w = 0; w < o.workers; w++) {
    const child = fork(fileURLToPath(import.meta.url), ['worker'], { execArgv: process.execArgv, stdio: 'inherit' });
    children.push(child);
    acked.push(0);
    waits.push([]);
    child.on('message', (m: FromWorker) => {
      if (m.type === 'acked' || m.type === 'stopped') acked[w] = m.n;
      if (m.type !== 'acked') waits[w]!.shift()?.(m);
    });
    child.on('exit', (code) => {
      for (const resolve of waits[w]!.splice(0)) resolve({ type: 'failed', message: `worker exited (${code})` });
    });
    const { workers: _w, devices: _d, ...rest } = o;
    const job: Job = { ...rest, ids: ids.filter((_, i) => i % o.workers === w) };
    child.send({ type: 'job', job } satisfies ToWorker);
  }
  const send = (m: ToWorker) => {
    for (const c of children) c.send(m);
  };
  const all = async (): Promise<FromWorker[]> => {
    const replies = await Promise.all(children.map((_, w) => next(w)));
    const failed = replies.find((r) => r.type === 'failed');
    if (failed && failed.type === 'failed') {
      for (const c of children) c.kill();
      throw new Error(`pre-sealed load: ${failed.message}`);
    }
    return replies;
  };
  await all();
  return {
    go: () => send({ type: 'go' }),
    acked: () => acked.reduce((a, b) => a + b, 0),
    async stop(drainMs) {
      send({ type: 'stop', drainMs });
      const replies = await all();
      let errors = 0;
      let exhausted = 0;
      for (const r of replies) if (r.type === 'stopped') (errors += r.errors), (exhausted += r.exhausted);
      for (const c of children) c.disconnect();
      return { errors, exhausted };
    },
  };
}

/** One device's messages, back to back in one buffer (`ends[i]` is where message i ends). */
async function buildMessages(job: Job, id: string, index: number): Promise<{ bytes: Buffer; ends: Uint32Array }> {
  const dir = join(job.dataDir, 'sim', id);
  const channel = job.sealing
    ? sealChannel(
        parseSealSecretKeyPem(readFileSync(join(dir, SEAL_KEY_FILE))),
        parseSealPublicKeyPem(readFileSync(join(dir, BACKEND_KEY_FILE))),
      )
    : undefined;
  const topic = deviceTopic(id, 'telemetry');
  const platform = createFakePlatform(index + 1);
  // A fresh stream each run: the server stores (device, stream, seq) once, and the bench's runs share a folder.
  const stream = randomBytes(8).toString('hex');
  const parts: Uint8Array[] = [];
  const ends = new Uint32Array(job.perDevice);
  let end = 0;
  for (let seq = 1; seq <= job.perDevice; seq++) {
    const ts = Date.now();
    const m = await platform.readMetrics();
    const plain = encode({ v: 1, id: `${stream}-${seq}-${seq}`, ts, stream, samples: [{ seq, ts, m }] });
    const payload = channel ? sealMessage(channel, topic, plain) : Buffer.from(plain);
    parts.push(payload);
    end += payload.length;
    ends[seq - 1] = end;
  }
  return { bytes: Buffer.concat(parts), ends };
}

async function runWorker(): Promise<void> {
  const job = await new Promise<Job>((resolve) =>
    process.once('message', (m: ToWorker) => m.type === 'job' && resolve(m.job)),
  );
  const ca = readFileSync(join(job.dataDir, 'pki', 'ca.crt'));
  const devices = await Promise.all(
    job.ids.map(async (id, i) => ({ id, topic: deviceTopic(id, 'telemetry'), ...(await buildMessages(job, id, i)) })),
  );
  const clients = await Promise.all(
    devices.map(({ id }) => {
      const dir = join(job.dataDir, 'sim', id);
      return mqtt.connectAsync(job.url, {
        clientId: id,
        key: readFileSync(join(dir, 'device.key')),
        cert: readFileSync(join(dir, 'device.crt')),
        ca,
        protocolVersion: 4,
        reconnectPeriod: 0,
      });
    }),
  );
  let acked = 0;
  let errors = 0;
  let running = false;
  let drained: (() => void) | undefined;
  const cursors = devices.map(() => 0);
  /** Each device's QoS 1 publishes not acknowledged yet: at most job.inflight, as the agent's sender keeps. */
  const inflight = devices.map(() => 0);
  let total = 0;
  const pump = (d: number) => {
    const dev = devices[d]!;
    while (running && inflight[d]! < job.inflight && cursors[d]! < dev.ends.length) {
      const i = cursors[d]!++;
      inflight[d]!++;
      total++;
      clients[d]!.publish(
        dev.topic,
        dev.bytes.subarray(i === 0 ? 0 : dev.ends[i - 1]!, dev.ends[i]!),
        { qos: 1 },
        (err) => {
          inflight[d]!--;
          total--;
          if (err) errors++;
          else acked++;
          if (total === 0) drained?.();
          pump(d);
        },
      );
    }
  };
  const report = setInterval(() => process.send!({ type: 'acked', n: acked } satisfies FromWorker), 250);
  process.send!({ type: 'ready' } satisfies FromWorker);
  process.on('message', async (m: ToWorker) => {
    if (m.type === 'go') {
      running = true;
      for (let d = 0; d < devices.length; d++) pump(d);
    } else if (m.type === 'stop') {
      running = false;
      if (total > 0)
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(resolve, m.drainMs).unref();
        });
      clearInterval(report);
      await Promise.all(clients.map((c) => c.endAsync(true)));
      const exhausted = devices.filter((dev, d) => cursors[d] === dev.ends.length).length;
      process.send!({ type: 'stopped', n: acked, errors, exhausted } satisfies FromWorker);
    }
  });
}

if (process.argv[2] === 'worker' && process.send) {
  runWorker().catch((err: Error) => {
    process.send!({ type: 'failed', message: err.stack ?? err.message } satisfies FromWorker);
    process.exit(1);
  });
}
