// One virtual gateway: the real agent (outbox, sender, command executor, scanner path) on a fake platform,
// with in-memory state, its own certificate and its own mTLS connection from its own loopback source address.
import { randomBytes } from 'node:crypto';
import type { IClientOptions } from 'mqtt';
import mqtt from 'mqtt';
import { encode, type Logger } from '../../shared/src/index.js';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AgentError,
  createAgent,
  createDownloader,
  createFakePlatform,
  createMemoryInstaller,
  createMemoryState,
  createMemoryUpdateStore,
  type Agent,
  type AgentConfig,
  type DownloadFn,
  type Keyring,
  type MemoryInstaller,
} from '../../agent/src/index.js';
import type { FailMode } from './options.js';
import { sampleReport } from '../../agent/src/scan/index.js';
import type { FirmwareGate, FirmwareVerdict } from './firmware-gate.js';
import { addCounts } from './metrics.js';
import { seededRng } from './rng.js';
import { trackOutbox, type SampleSink, type SampleTally } from './tracked-outbox.js';
import type { SealChannel } from '../../shared/src/index.js';

/** Counters shared by every device of a pool (one worker). */
export interface DeviceCounters {
  attempts: number;
  /** Attempts under way (TLS handshake or CONNACK not yet answered). */
  connecting: number;
  connects: number;
  disconnects: number;
  connected: number;
  exposureSent: number;
  /** Telemetry ticks that took no sample because this process ran them too late (SKIP_LATE_SAMPLE_MS). */
  skipped: number;
  errors: Record<string, number>;
  commandAcks: Record<string, number>;
}

/**
 * A device's telemetry tick that this process runs more than this late takes no sample. The virtual devices share
 * one event loop, and while it is behind (a ramp of thousands of TLS handshakes) their ticks all run late together;
 * sampling anyway would keep the whole backlog, which a busy worker never works off. A gateway has its own CPU and
 * samples however late (agent/src/telemetry/sampler.ts). Skipped ticks are counted (the result's samplesSkipped).
 */
export const SKIP_LATE_SAMPLE_MS = 1000;

export const newCounters = (): DeviceCounters => ({
  attempts: 0,
  connecting: 0,
  connects: 0,
  disconnects: 0,
  connected: 0,
  exposureSent: 0,
  skipped: 0,
  errors: {},
  commandAcks: {},
});

export interface ExposurePlan {
  /** The first report goes out at a random moment within this many ms of the start. */
  readonly firstWithinMs: number;
  /** Then one every this many ms (±10%); 0 for only the first. */
  readonly everyMs: number;
}

/** Firmware updates for a rollout drill: the fleet's trust anchor, what the device runs, and whether it fails. */
export interface DeviceUpdateSpec {
  /** The fleet's first trust document: newer ones come with the offers. */
  readonly trust: Uint8Array;
  readonly hardware: string;
  readonly initialVersion: string;
  readonly initialSequence: number;
  /** Download files go to WORKDIR/<id>/update/ (the bundle is hashed from there, and deleted after). */
  readonly workDir: string;
  /** This device's update fails there (a drill), or undefined. */
  readonly fail?: FailMode;
}

/** What a device runs when the run ends: a working image is a finished slot (and, on trial, the old one beside). */
export interface DeviceFirmware {
  readonly version: string;
  readonly sequence: number;
  readonly trial: boolean;
  readonly working: boolean;
}

/**
 * The download of a device made to fail: `download` fails as a cut-off reply would after its retries; `verify`
 * flips the bundle's last byte (a payload byte) on its way in, both in what the update client verifies as it arrives
 * and in the file, which the device's verifier must catch (FW_PAYLOAD_DIGEST).
 */
function drillDownload(real: DownloadFn, fail: FailMode | undefined): DownloadFn {
  if (fail === 'download')
    return async () => {
      throw new AgentError('UPDATE_DOWNLOAD', 'drill: the download was cut off and every retry failed');
    };
  if (fail !== 'verify') return real;
  return async (req) => {
    let seen = 0;
    const onData = req.onData;
    await real({
      ...req,
      ...(onData
        ? {
            onData: (chunk: Uint8Array) => {
              seen += chunk.length;
              if (seen !== req.size) return onData(chunk);
              const changed = Uint8Array.from(chunk);
              changed[changed.length - 1] = changed[changed.length - 1]! ^ 0xff;
              return onData(changed);
            },
          }
        : {}),
    });
    const fh = await open(req.file, 'r+');
    try {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, req.size - 1);
      last[0] = last[0]! ^ 0xff;
      await fh.write(last, 0, 1, req.size - 1);
    } finally {
      await fh.close();
    }
  };
}

export interface VirtualDeviceOptions {
  readonly id: string;
  readonly seed: number;
  readonly tls: { readonly key: Buffer; readonly cert: Buffer; readonly ca: Buffer };
  /** The device's sealing channel to the backend (its seal.key and backend-seal.pub); null sends plain messages. */
  readonly seal: SealChannel | null;
  /** Loopback source address for this device's connections (undefined: let the kernel choose). */
  readonly localAddress?: string;
  /** Agent configuration shared by the pool; the device id is filled in per device. */
  readonly template: AgentConfig;
  readonly keyring: Keyring;
  readonly gate: FirmwareGate;
  readonly exposure?: ExposurePlan;
  /** Keep this many samples waiting in the outbox (throughput mode: publish as fast as acknowledged). */
  readonly keepOutboxFull?: number;
  /** Rollout drills: the device takes update offers with the agent's real update client on in-memory slots. */
  readonly update?: DeviceUpdateSpec;
  readonly counters: DeviceCounters;
  readonly sink: SampleSink;
  readonly log: Logger;
  readonly now?: () => number;
}

export interface VirtualDevice {
  readonly id: string;
  readonly agent: Agent;
  readonly tally: SampleTally;
  offerFirmware(bundle: Uint8Array): Promise<FirmwareVerdict>;
  /** The image it runs (rollout drills only). */
  firmware(): DeviceFirmware | undefined;
  close(): Promise<void>;
}

/** Names the ways a connection attempt can fail, for the `errors` of the result. */
export function errorKind(err: Error & { code?: unknown }): string {
  const code = err.code;
  if (typeof code === 'number') return `connack-refused-${code}`;
  if (code === 'ECONNREFUSED') return 'connection-refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection-reset';
  if (code === 'EADDRNOTAVAIL' || code === 'EADDRINUSE') return 'no-source-port';
  if (code === 'EMFILE' || code === 'ENFILE') return 'out-of-file-descriptors';
  if (/timeout/i.test(err.message)) return 'timeout';
  if ((typeof code === 'string' && code.startsWith('ERR_SSL')) || /ssl|tls|certificate/i.test(err.message))
    return 'tls';
  return 'other';
}

export async function createVirtualDevice(o: VirtualDeviceOptions): Promise<VirtualDevice> {
  const now = o.now ?? Date.now;
  const { counters } = o;
  const state = createMemoryState({
    maxSamples: o.template.outbox.maxSamples,
    maxMessages: o.template.outbox.maxMessages,
  });
  const { outbox, tally } = trackOutbox(state.outbox, o.sink, now);
  const rng = seededRng(o.seed);
  // A fresh message id each time: the server stores reports idempotently per (device, id), across runs too.
  const report = () => encode(sampleReport(o.id, rng, { now: now(), id: randomBytes(12).toString('base64url') }));
  let closed = false;

  // Every connection attempt goes through here: the source address is set and its outcome counted.
  const connect = (url: string, opts: IClientOptions) => {
    counters.attempts++;
    // The agent's connection made its TLS context once (agent/src/mqtt/connection.ts).
    const client = mqtt.connect(url, {
      ...opts,
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
    } as IClientOptions);
    let up = false;
    let failed = false;
    let ended = false;
    let pending = true;
    counters.connecting++;
    const settled = () => {
      if (pending) counters.connecting--;
      pending = false;
    };
    client.once('connect', () => {
      settled();
      up = true;
      counters.connects++;
      counters.connected++;
    });
    client.on('error', (err: Error & { code?: unknown }) => {
      if (failed || closed) return;
      failed = true;
      addCounts(counters.errors, { [errorKind(err)]: 1 });
    });
    client.on('close', () => {
      if (ended) return;
      ended = true;
      settled();
      if (up) {
        counters.connected--;
        if (!closed) counters.disconnects++;
      } else if (!failed && !closed) addCounts(counters.errors, { 'closed-before-connack': 1 });
    });
    return client;
  };

  const installer: MemoryInstaller | undefined = o.update
    ? createMemoryInstaller({ version: o.update.initialVersion, sequence: o.update.initialSequence })
    : undefined;
  const update = o.update;
  let agent: Agent | undefined;
  const topUp = (n: number) => {
    for (let i = 0; i < n && !closed; i++) void agent?.sampleNow().catch(() => {});
  };
  agent = await createAgent({
    config: { ...o.template, deviceId: o.id, ...(update ? { stateDir: join(update.workDir, o.id) } : {}) },
    platform: createFakePlatform(o.seed, { firmwareVersion: '1.0.0' }),
    outbox,
    replay: state.replay,
    keyring: o.keyring,
    tls: o.tls,
    seal: o.seal,
    log: o.log,
    now,
    skipLateSampleMs: SKIP_LATE_SAMPLE_MS,
    onSampleSkipped: () => counters.skipped++,
    random: rng,
    connect,
    scanner: async () => {
      counters.exposureSent++;
      return report();
    },
    onCommandAck: (ack) =>
      addCounts(counters.commandAcks, { [ack.reason ? `${ack.status}:${ack.reason}` : ack.status]: 1 }),
    ...(o.keepOutboxFull ? { onAck: (first: number, last: number) => topUp(last - first + 1) } : {}),
    ...(update && installer
      ? {
          update: {
            store: createMemoryUpdateStore(),
            installer,
            trust: update.trust,
            hardware: update.hardware,
            download: drillDownload(createDownloader({ attempts: 3, baseDelayMs: 500, random: rng }), update.fail),
            ...(update.fail === 'health'
              ? {
                  healthCheck: async () => {
                    throw new AgentError('UPDATE_HEALTH', 'drill: the new image failed its health check');
                  },
                }
              : {}),
          },
        }
      : {}),
  });
  if (o.keepOutboxFull) topUp(o.keepOutboxFull);

  const timers: NodeJS.Timeout[] = [];
  if (o.exposure) {
    const plan = o.exposure;
    const sendReport = () => {
      if (closed) return;
      counters.exposureSent++;
      agent!.send('exposure', report());
      if (plan.everyMs > 0) schedule(plan.everyMs * (0.9 + rng() * 0.2));
    };
    const schedule = (ms: number) => {
      const t = setTimeout(sendReport, ms);
      t.unref();
      timers[0] = t;
    };
    schedule(rng() * plan.firstWithinMs);
  }

  return {
    id: o.id,
    agent,
    tally,
    offerFirmware: (bundle) => o.gate.offer(bundle),
    firmware() {
      if (!installer) return undefined;
      const st = installer.state();
      const running = st.slots[st.active];
      const other = st.slots[st.active === 'a' ? 'b' : 'a'];
      return {
        version: running?.version ?? '',
        sequence: running?.sequence ?? -1,
        trial: st.trial,
        // A finished image runs; one on trial has the old one to fall back to.
        working: running !== undefined && (!st.trial || other !== undefined),
      };
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      await agent!.close();
      state.close();
    },
  };
}
