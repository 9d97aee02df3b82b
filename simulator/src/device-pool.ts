// A pool of virtual devices in one process (a worker, or the simulator itself with --workers 0): creates them
// at the ramp rate, counts what they do, and answers the coordinator's requests (window marks, cut, firmware).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  BACKEND_KEY_FILE,
  parseSealPublicKeyPem,
  parseSealSecretKeyPem,
  SEAL_KEY_FILE,
  sealChannel,
  silentLogger,
} from '../../shared/src/index.js';
import { AGENT_VERSION, createKeyring, parseAgentConfig } from '../../agent/src/index.js';
import { fleetPaths } from '../../broker/src/fleet/data-dir.js';
import {
  createFirmwareGate,
  loadTrust,
  SIM_HARDWARE,
  SIM_INSTALLED_SEQUENCE,
  type FirmwareVerdict,
} from './firmware-gate.js';
import { simDir } from './identities.js';
import { createHistogram, type SparseHistogram } from './metrics.js';
import { startStormProxy, type StormProxy } from './proxy.js';
import { deviceAddress } from './source-addresses.js';
import type { FailMode } from './options.js';
import {
  createVirtualDevice,
  newCounters,
  type DeviceFirmware,
  type DeviceUpdateSpec,
  type ExposurePlan,
  type VirtualDevice,
} from './virtual-device.js';

/** A rollout drill's firmware side, the same for every device of the run but whether it fails. */
export interface PoolUpdateSpec extends Omit<DeviceUpdateSpec, 'fail'> {
  /** Devices fail where failMode says when their share of the seed falls below failRate. */
  readonly failRate: number;
  readonly failMode: FailMode;
}

/**
 * Whether device `index` is one of the failing share: spread evenly over the fleet (every 1/rate-th device, offset
 * by a fraction of the spacing), so each stage gets its share too, and the same devices fail in every run.
 */
export function failsInDrill(index: number, rate: number): boolean {
  if (rate <= 0) return false;
  return Math.floor((index + 0.5) * rate) !== Math.floor((index - 0.5) * rate);
}

export interface PoolSpec {
  readonly index: number;
  readonly dataDir: string;
  /** This pool's devices, with their index in the whole fleet (for source address and seed). */
  readonly devices: readonly { readonly id: string; readonly index: number }[];
  readonly serverHost: string;
  readonly serverPort: number;
  /** Every server, when there are several: each device gets the list (random pick, failover; not via the proxy). */
  readonly servers: readonly { readonly host: string; readonly port: number }[];
  /** Spread connections over loopback source addresses (only towards an IPv4 loopback server). */
  readonly sourceAddresses: number;
  /** Connect through this pool's own cutting proxy (reconnect storm). */
  readonly viaProxy: boolean;
  readonly telemetryIntervalSeconds: number;
  /** Devices this pool starts per second. */
  readonly rampPerSecond: number;
  /** No new device starts while this many connection attempts of the pool are under way. */
  readonly maxConnecting: number;
  readonly reconnect: { readonly minSeconds: number; readonly maxSeconds: number };
  readonly exposure: ExposurePlan | null;
  /** > 0: throughput mode, each device keeps this many samples waiting and publishes as fast as acknowledged. */
  readonly keepOutboxFull: number;
  /** Devices seal what they send (false: plain, for a server set to sealing "optional"). */
  readonly sealing: boolean;
  readonly operatorPem: string;
  readonly trustDocument: Uint8Array;
  /** Rollout drills: the devices take update offers (null: no update client). */
  readonly update: PoolUpdateSpec | null;
}

/** The counts a pool reports; the fleet's totals are their sums. */
export const POOL_COUNTS = [
  'created',
  'connected',
  'attempts',
  'connects',
  'disconnects',
  'made',
  'acked',
  'resent',
  'skipped',
  'exposureSent',
  'pending',
] as const;

/**
 * Cumulative counters. `pending`: samples up to the cutoff still waiting for a PUBACK (all waiting samples before
 * the cutoff is set).
 */
export type PoolCounters = { readonly [K in (typeof POOL_COUNTS)[number]]: number } & {
  readonly errors: Readonly<Record<string, number>>;
  readonly commandAcks: Readonly<Record<string, number>>;
};

/** Cumulative counters, plus the latency buckets added since the previous report. */
export interface PoolReport extends PoolCounters {
  readonly index: number;
  readonly rssBytes: number;
  /** RSS of the process before its first device: the rest is what the devices cost. */
  readonly baseRssBytes: number;
  readonly liveLatency: SparseHistogram;
  readonly measuredLatency: SparseHistogram;
  /**
   * This process's event-loop delay over the measured window so far, in ms beyond its sampling period: a worker at
   * its CPU's limit reads PUBACKs and fires sample timers late, and every latency it measures grows by as much.
   */
  readonly loopDelayMs: LoopDelay;
  /** This process's event-loop delay p99 since its last report (ms beyond its sampling period), measured always. */
  readonly recentLoopDelayMs: number;
}

export interface LoopDelay {
  readonly p99: number;
  readonly max: number;
}

export interface DeviceFinal {
  readonly id: string;
  readonly stream: string;
  /** Samples with seq in (windowStart, cutoff] were made in the measured window. */
  readonly windowStart: number;
  readonly cutoff: number;
  /** Samples up to the cutoff never acknowledged. */
  readonly pending: number;
  /** The image it runs at the end (rollout drills). */
  readonly firmware?: DeviceFirmware;
}

export interface PoolFinal {
  readonly report: PoolReport;
  readonly devices: readonly DeviceFinal[];
}

export interface DevicePool {
  start(): Promise<void>;
  report(): PoolReport;
  /** Starts the measured window (the fleet is up). */
  measure(): void;
  /** Ends the measured window: samples made later are not counted. */
  cutoff(): void;
  cut(ms: number): void;
  offerFirmware(deviceId: string, bundle: Uint8Array): Promise<FirmwareVerdict>;
  stop(): Promise<PoolFinal>;
}

/** The event loop is sampled every this many ms (a finer period costs a timer wake-up each). */
const LOOP_SAMPLE_MS = 20;
const beyondSample = (ns: number) => Math.max(0, Math.round(ns / 1e6 - LOOP_SAMPLE_MS));

export function createDevicePool(spec: PoolSpec): DevicePool {
  const baseRssBytes = process.memoryUsage.rss();
  const counters = newCounters();
  const live = createHistogram();
  const measured = createHistogram();
  const loop = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  // Since the last report, whatever the stage: the settle waits on it (fleet.ts).
  const recentLoop = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  recentLoop.enable();
  let made = 0;
  let pending = 0;
  let acked = 0;
  let resent = 0;
  const devices: VirtualDevice[] = [];
  const byId = new Map<string, VirtualDevice>();
  let proxy: StormProxy | undefined;
  let rampTimer: NodeJS.Timeout | undefined;
  let measuring = false;
  let ended = false;
  let stopping = false;
  const creating = new Set<Promise<void>>();

  const ca = readFileSync(fleetPaths(spec.dataDir).caCert);
  const keyring = createKeyring([{ name: 'fleet-sim-operator', publicKey: spec.operatorPem, allow: ['*'] }]);
  const gate = createFirmwareGate({
    trust: loadTrust(spec.trustDocument),
    hardware: SIM_HARDWARE,
    installedSequence: SIM_INSTALLED_SEQUENCE,
    agentVersion: AGENT_VERSION,
  });
  const sink = {
    made() {
      made++;
      pending++;
    },
    settled() {
      pending--;
    },
    acked(ms: number, inWindow: boolean) {
      acked++;
      live.record(ms);
      if (inWindow) measured.record(ms);
    },
    resent(n: number) {
      resent += n;
    },
  };

  function template(servers: readonly { readonly host: string; readonly port: number }[]) {
    const urls = servers.map((a) => `mqtts://${a.host}:${a.port}`);
    return parseAgentConfig({
      server: urls.length === 1 ? urls[0]! : urls,
      deviceId: 'sim-template',
      // Credentials are handed over in memory; these paths are never read.
      cert: 'unused.crt',
      key: 'unused.key',
      ca: 'unused.ca',
      stateDir: '/nonexistent/fleet-sim',
      telemetryIntervalSeconds: spec.telemetryIntervalSeconds,
      reconnect: spec.reconnect,
      ...(spec.keepOutboxFull > 0 ? { outbox: { maxBatch: 1, drainMessagesPerSecond: 1000 } } : {}),
    });
  }

  // Every device of a fleet holds the same backend key: checked once (an X25519 in tweetnacl, 1-2 ms), not per device.
  const backendKeys = new Map<string, Uint8Array>();
  function backendKey(dir: string): Uint8Array {
    const pem = readFileSync(join(dir, BACKEND_KEY_FILE), 'utf8');
    let key = backendKeys.get(pem);
    if (!key) backendKeys.set(pem, (key = parseSealPublicKeyPem(pem)));
    return key;
  }

  async function createOne(d: { id: string; index: number }, config: ReturnType<typeof template>): Promise<void> {
    const dir = join(simDir(spec.dataDir), d.id);
    const device = await createVirtualDevice({
      id: d.id,
      seed: d.index + 1,
      tls: { key: readFileSync(join(dir, 'device.key')), cert: readFileSync(join(dir, 'device.crt')), ca },
      seal: spec.sealing
        ? sealChannel(parseSealSecretKeyPem(readFileSync(join(dir, SEAL_KEY_FILE))), backendKey(dir))
        : null,
      ...(spec.sourceAddresses > 0 ? { localAddress: deviceAddress(d.index, spec.sourceAddresses) } : {}),
      template: config,
      keyring,
      gate,
      ...(spec.exposure ? { exposure: spec.exposure } : {}),
      ...(spec.keepOutboxFull > 0 ? { keepOutboxFull: spec.keepOutboxFull } : {}),
      ...(spec.update
        ? {
            update: {
              trust: spec.update.trust,
              hardware: spec.update.hardware,
              initialVersion: spec.update.initialVersion,
              initialSequence: spec.update.initialSequence,
              workDir: spec.update.workDir,
              ...(failsInDrill(d.index, spec.update.failRate) ? { fail: spec.update.failMode } : {}),
            },
          }
        : {}),
      counters,
      sink,
      log: silentLogger,
    });
    if (measuring) device.tally.startWindow();
    devices.push(device);
    byId.set(d.id, device);
  }

  function report(): PoolReport {
    const r: PoolReport = {
      index: spec.index,
      created: devices.length,
      connected: counters.connected,
      attempts: counters.attempts,
      connects: counters.connects,
      disconnects: counters.disconnects,
      made,
      acked,
      resent,
      skipped: counters.skipped,
      exposureSent: counters.exposureSent,
      errors: { ...counters.errors },
      commandAcks: { ...counters.commandAcks },
      pending,
      rssBytes: process.memoryUsage.rss(),
      baseRssBytes,
      liveLatency: live.sparse(),
      measuredLatency: measured.sparse(),
      loopDelayMs: { p99: beyondSample(loop.percentile(99)), max: beyondSample(loop.max) },
      recentLoopDelayMs: beyondSample(recentLoop.percentile(99)),
    };
    recentLoop.reset();
    live.reset();
    measured.reset();
    return r;
  }

  return {
    async start() {
      if (spec.viaProxy)
        proxy = await startStormProxy({
          upstreamHost: spec.serverHost,
          upstreamPort: spec.serverPort,
          keepSourceAddress: spec.sourceAddresses > 0,
        });
      const config = template(proxy ? [{ host: '127.0.0.1', port: proxy.port }] : spec.servers);
      const queue = [...spec.devices];
      let budget = 0;
      let last = Date.now();
      const tick = () => {
        const t = Date.now();
        budget = Math.min(budget + ((t - last) / 1000) * spec.rampPerSecond, Math.max(1, spec.rampPerSecond));
        last = t;
        // Closed loop: a server that handshakes slower than the ramp is not buried under attempts that time
        // out (each costs it a handshake, and the device a back-off).
        while (budget >= 1 && queue.length > 0 && !ended && counters.connecting < spec.maxConnecting) {
          budget--;
          const p = createOne(queue.shift()!, config).catch(() => {
            counters.errors['device-create-failed'] = (counters.errors['device-create-failed'] ?? 0) + 1;
          });
          creating.add(p);
          void p.finally(() => creating.delete(p));
        }
        if (queue.length === 0 || ended) clearInterval(rampTimer);
      };
      budget = 1;
      rampTimer = setInterval(tick, 20);
      tick();
    },
    report,
    measure() {
      measuring = true;
      loop.reset();
      loop.enable();
      for (const d of devices) d.tally.startWindow();
    },
    cutoff() {
      ended = true;
      loop.disable();
      clearInterval(rampTimer);
      for (const d of devices) d.tally.endWindow();
    },
    cut(ms) {
      proxy?.cut(ms);
    },
    async offerFirmware(deviceId, bundle) {
      const d = byId.get(deviceId);
      return d ? d.offerFirmware(bundle) : 'ERROR: no such device in this pool';
    },
    async stop() {
      if (!ended) this.cutoff();
      if (stopping) throw new Error('pool already stopping');
      stopping = true;
      await Promise.all([...creating]);
      const finals: DeviceFinal[] = devices.map((d) => ({
        id: d.id,
        stream: d.tally.stream,
        windowStart: d.tally.windowStart,
        cutoff: d.tally.cutoff ?? d.tally.made,
        pending: d.tally.pending(),
        ...(d.firmware() ? { firmware: d.firmware()! } : {}),
      }));
      const last = report();
      recentLoop.disable();
      await Promise.all(devices.map((d) => d.close().catch(() => {})));
      await proxy?.close();
      return { report: last, devices: finals };
    },
  };
}
