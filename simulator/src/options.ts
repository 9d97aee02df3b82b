// Simulator options: defaults, and the checks every entry point (CLI, library, benchmarks) goes through.
import { availableParallelism } from 'node:os';
import { UsageError } from '../../shared/src/index.js';
import type { Tick } from './scenarios/types.js';
import type { ServerView } from './server-view.js';
import { isLoopbackHost } from './source-addresses.js';

export interface SimulatorOptions {
  /**
   * mqtts://host:port of the fleet server, or a cluster's nodes separated by commas (up to 16): each device is given
   * the list and picks one at random, failing over to the others, as an agent with a server list does.
   */
  readonly server: string;
  /** The fleet data folder (pki/, fleet.db); identities are kept in DATA/sim/. */
  readonly dataDir: string;
  /**
   * https://host:port of the operator API the server view is read through (default: the host of `server`, port
   * 8443, as `fleet serve` listens by default).
   */
  readonly serverApi?: string;
  /** The fleet CA (PEM) the API's certificate chains to (default: DATA/pki/ca.crt). */
  readonly ca?: string;
  /**
   * An operator credential (PEM) for the API, of a viewer or above (default: the simulator's own viewer,
   * registered in DATA once, its credential in DATA/sim/operator.key).
   */
  readonly credential?: string;
  /**
   * What the server stored, as the simulator reads it; given, it is used instead of the API (and closed by whoever
   * made it): tests, or a broker without the operator API (emptyServerView).
   */
  readonly serverView?: ServerView;
  readonly devices: number;
  readonly scenario: string;
  /** Measured part of the run, after every device is connected (default 60 s). */
  readonly durationMs?: number;
  /**
   * Between the moment every device is connected and the measured part (default 0): the server and the simulator
   * finish the work the ramp left (the last handshakes, the first samples of the last devices) before latency counts.
   * At least this long, then until every worker has caught up (fleet.ts CAUGHT_UP_MS), at most four times as long.
   */
  readonly settleMs?: number;
  readonly telemetryIntervalSeconds?: number;
  /** New devices per second (default 200). */
  readonly rampPerSecond?: number;
  /** At most this many connection attempts under way while starting the fleet (default 128). */
  readonly maxConnecting?: number;
  /** Worker processes; 0 runs every device in this process (default: one per core). */
  readonly workers?: number;
  /**
   * The script the worker processes run (default: this simulator's own entry, the bundle or, from source,
   * simulator/src/main.ts under tsx). A benchmark driving the simulator from source passes the bundle
   * dist/fleet-sim.js built from the same commit: code loaded by tsx keeps every function's name with an extra
   * property, which costs each virtual device about 16 KB of heap and its worker GC time.
   */
  readonly workerScript?: string;
  /**
   * The worker processes' scheduling priority (nice, -20 to 19, lower runs first; below 0 needs root). A benchmark
   * running the fleet server on the same cores raises it: the devices the workers stand in for have CPUs of their
   * own, and a worker waiting for the CPU would otherwise count its wait as the server's latency. Default: as this
   * process.
   */
  readonly workerPriority?: number;
  readonly prefix?: string;
  /** Permit a server that is not on this machine's loopback. */
  readonly allowRemote?: boolean;
  /** Loopback source addresses to spread devices over (default 250; 0: let the kernel choose). */
  readonly sourceAddresses?: number;
  /** Exposure reports: the first within one telemetry interval of the start, then every this many ms (0: none). */
  readonly exposureEveryMs?: number;
  readonly reconnect?: { readonly minSeconds: number; readonly maxSeconds: number };
  /** reconnect-storm: how long the proxy refuses connections after the cut (default 2 s). */
  readonly outageMs?: number;
  /** reconnect-storm: cut at the proxy, or restart the server (needs restartServer). */
  readonly stormMode?: 'proxy' | 'restart';
  /** attack: rogue devices (default 2). */
  readonly rogues?: number;
  /** How long to wait for every device to connect before the measured part starts anyway. */
  readonly connectTimeoutMs?: number;
  /** After the run, how long to wait for outstanding samples to be acknowledged (default 30 s). */
  readonly drainMs?: number;
  /** Throughput scenario: samples each device keeps waiting in its outbox (default 16). */
  readonly outboxDepth?: number;
  /**
   * Devices seal what they send (default true). false sends plain messages, which only a server explicitly set to
   * `sealing: "optional"` accepts (bench/broker-throughput's sealing comparison).
   */
  readonly sealing?: boolean;
  /** rollout: the firmware bundle to publish and roll out (its trust document must be installed on the server). */
  readonly release?: string;
  /**
   * rollout: the fleet's first trust document (trust.cbor), which the devices trust; needed with `credential` (the
   * API does not hand documents out), checked against the installed one's sha256. Without it, read from `dataDir`.
   */
  readonly trust?: Uint8Array;
  /** rollout: the share of devices (0–1) whose update is made to fail, chosen by seed (default 0). */
  readonly failRate?: number;
  /** rollout: where a failing device fails (default verify). */
  readonly failMode?: FailMode;
  /** rollout: the stages in percent of the devices (default 10, 50, 100). */
  readonly stages?: readonly number[];
  /** rollout: thresholds as fractions (defaults 0.95 and 0.10, as `fleet rollout create`). */
  readonly successThreshold?: number;
  readonly errorThreshold?: number;
  /** rollout: the least time a stage lasts (default 0: a drill need not wait). */
  readonly minWaitMs?: number;
  /** Restarts the fleet server (reconnect-storm --storm restart); given by whoever started the server. */
  readonly restartServer?: () => Promise<void>;
  /** Peak RSS of the server process, when the caller knows it (benchmarks). */
  readonly serverRss?: () => number;
  readonly onTick?: (t: Tick, line: string) => void;
  /** Each stage as it begins: connecting, the scenario's name (the measured window), draining, stopping, verifying. */
  readonly onStage?: (stage: string) => void;
  readonly onNote?: (line: string) => void;
  /** Issuing identities, before the run. */
  readonly onIssue?: (done: number, total: number) => void;
}

/** Where a rollout drill makes an update fail: the download, the bundle's verification, or the health check. */
export const FAIL_MODES = ['download', 'verify', 'health'] as const;
export type FailMode = (typeof FAIL_MODES)[number];

type OptionalOptions =
  | 'release'
  | 'trust'
  | 'ca'
  | 'credential'
  | 'serverView'
  | 'workerScript'
  | 'workerPriority'
  | 'restartServer'
  | 'serverRss'
  | 'onTick'
  | 'onStage'
  | 'onNote'
  | 'onIssue';

export type ResolvedOptions = Required<Omit<SimulatorOptions, OptionalOptions>> &
  Pick<SimulatorOptions, OptionalOptions> & {
    /** The first (or only) server. */
    readonly serverHost: string;
    readonly serverPort: number;
    /** Every server of the list, in the order given. */
    readonly servers: readonly ServerAddress[];
  };

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

/** The agent's limit on a server list (agent/src/config.ts). */
const MAX_SERVERS = 16;

export const DEFAULTS = {
  durationMs: 60_000,
  settleMs: 0,
  telemetryIntervalSeconds: 10,
  rampPerSecond: 200,
  maxConnecting: 128,
  prefix: 'sim-',
  sourceAddresses: 250,
  exposureEveryMs: 3_600_000,
  reconnect: { minSeconds: 1, maxSeconds: 120 },
  outageMs: 2000,
  stormMode: 'proxy' as const,
  rogues: 2,
  drainMs: 30_000,
  outboxDepth: 16,
  sealing: true,
  failRate: 0,
  failMode: 'verify' as FailMode,
  stages: [10, 50, 100],
  successThreshold: 0.95,
  errorThreshold: 0.1,
  minWaitMs: 0,
};

/** Parses mqtts://host:port. */
export function parseServerUrl(url: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--server ${JSON.stringify(url)} is not a URL; use mqtts://127.0.0.1:8883`);
  }
  if (u.protocol !== 'mqtts:')
    throw new UsageError(
      `--server must be an mqtts:// URL (devices only speak mutual TLS), got ${JSON.stringify(url)}`,
    );
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { host: host === 'localhost' ? '127.0.0.1' : host, port: u.port ? Number(u.port) : 8883 };
}

/** `--server`: one mqtts:// URL, or several separated by commas (a cluster's nodes), each once. */
export function parseServerList(list: string): ServerAddress[] {
  const urls = list.split(',').map((u) => u.trim());
  if (urls.length > MAX_SERVERS)
    throw new UsageError(`--server lists at most ${MAX_SERVERS} servers, got ${urls.length}`);
  const servers = urls.map(parseServerUrl);
  const keys = servers.map((a) => `${a.host}:${a.port}`);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) throw new UsageError(`--server lists ${twice} twice; list each server once`);
  return servers;
}

/** The operator API's URL: https:// with a host (the default port of `fleet serve`, 8443, when none is given). */
function parseServerApiUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--server-api ${JSON.stringify(url)} is not a URL; use https://127.0.0.1:8443`);
  }
  if (u.protocol !== 'https:' || u.pathname !== '/' || u.search || u.hash || u.username || u.password) {
    throw new UsageError(`--server-api must be https://host:port (the operator API), got ${JSON.stringify(url)}`);
  }
  return `https://${u.hostname}:${u.port || DEFAULT_API_PORT}`;
}

/** `fleet serve`'s default HTTPS port, where its operator API is. */
const DEFAULT_API_PORT = 8443;

export function resolveOptions(o: SimulatorOptions): ResolvedOptions {
  const servers = parseServerList(o.server);
  const { host, port } = servers[0]!;
  const serverApi = parseServerApiUrl(
    o.serverApi ?? `https://${host.includes(':') ? `[${host}]` : host}:${DEFAULT_API_PORT}`,
  );
  const remote = servers.find((a) => !isLoopbackHost(a.host));
  if (!o.allowRemote && remote) {
    throw new UsageError(
      `--server ${remote.host} is not on this machine's loopback; load and attack runs target 127.0.0.1 only. Pass ` +
        `--allow-remote to run against a server you are authorised to load.`,
    );
  }
  const int = (v: number, what: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isInteger(v) || v < min || v > max)
      throw new UsageError(`${what} must be an integer from ${min} to ${max}, got ${v}`);
    return v;
  };
  const devices = int(o.devices, '--devices', 1, 1_000_000);
  const workers = int(o.workers ?? availableParallelism(), '--workers', 0, 64);
  const durationMs = int(o.durationMs ?? DEFAULTS.durationMs, '--duration (ms)', 0);
  const interval = int(
    o.telemetryIntervalSeconds ?? DEFAULTS.telemetryIntervalSeconds,
    '--telemetry-interval (whole seconds)',
    1,
    3600,
  );
  const ramp = o.rampPerSecond ?? DEFAULTS.rampPerSecond;
  if (!(ramp > 0 && ramp <= 100_000)) throw new UsageError(`--ramp must be between 1/s and 100000/s, got ${ramp}`);
  const reconnect = o.reconnect ?? DEFAULTS.reconnect;
  // The agent's own configuration bounds (docs/agent-config.md).
  if (
    !(
      reconnect.minSeconds >= 0.1 &&
      reconnect.maxSeconds >= 1 &&
      reconnect.minSeconds <= reconnect.maxSeconds &&
      reconnect.maxSeconds <= 86_400
    )
  ) {
    throw new UsageError(
      '--reconnect-min must be at least 0.1s, --reconnect-max at least 1s and not below --reconnect-min',
    );
  }
  const fraction = (v: number, what: string) => {
    if (!(v >= 0 && v <= 1)) throw new UsageError(`${what} must be between 0% and 100%, got ${v * 100}%`);
    return v;
  };
  const stages = o.stages ?? DEFAULTS.stages;
  if (
    stages.length === 0 ||
    stages.length > 20 ||
    stages.some((p, i) => !(p > 0 && p <= 100) || (i > 0 && p <= stages[i - 1]!)) ||
    stages.at(-1) !== 100
  ) {
    throw new UsageError(`--stages must rise from above 0% to 100% (at most 20 stages), got ${stages.join('%,')}%`);
  }
  const failMode = o.failMode ?? DEFAULTS.failMode;
  if (!FAIL_MODES.includes(failMode))
    throw new UsageError(`--fail-mode must be one of ${FAIL_MODES.join(', ')}, got ${JSON.stringify(failMode)}`);
  if (o.scenario === 'rollout' && !o.release)
    throw new UsageError('the rollout scenario needs --release BUNDLE (a bundle signed for the fleet)');
  return {
    server: o.server,
    serverHost: host,
    ...(o.release !== undefined ? { release: o.release } : {}),
    ...(o.trust !== undefined ? { trust: o.trust } : {}),
    failRate: fraction(o.failRate ?? DEFAULTS.failRate, '--fail-rate'),
    failMode,
    stages,
    successThreshold: fraction(o.successThreshold ?? DEFAULTS.successThreshold, '--success-threshold'),
    errorThreshold: fraction(o.errorThreshold ?? DEFAULTS.errorThreshold, '--error-threshold'),
    minWaitMs: int(o.minWaitMs ?? DEFAULTS.minWaitMs, '--min-wait (ms)', 0),
    serverPort: port,
    servers,
    dataDir: o.dataDir,
    serverApi,
    ...(o.ca !== undefined ? { ca: o.ca } : {}),
    ...(o.credential !== undefined ? { credential: o.credential } : {}),
    ...(o.serverView ? { serverView: o.serverView } : {}),
    devices,
    scenario: o.scenario,
    durationMs,
    settleMs: int(o.settleMs ?? DEFAULTS.settleMs, '--settle (ms)', 0),
    telemetryIntervalSeconds: interval,
    rampPerSecond: ramp,
    maxConnecting: int(o.maxConnecting ?? DEFAULTS.maxConnecting, '--max-connecting', 1, 100_000),
    workers: Math.min(workers, devices),
    ...(o.workerScript !== undefined ? { workerScript: o.workerScript } : {}),
    ...(o.workerPriority !== undefined ? { workerPriority: int(o.workerPriority, 'worker priority', -20, 19) } : {}),
    prefix: o.prefix ?? DEFAULTS.prefix,
    allowRemote: o.allowRemote ?? false,
    sourceAddresses: int(o.sourceAddresses ?? DEFAULTS.sourceAddresses, 'source addresses', 0, 250),
    exposureEveryMs: int(o.exposureEveryMs ?? DEFAULTS.exposureEveryMs, '--exposure-interval (ms)', 0),
    reconnect,
    outageMs: int(o.outageMs ?? DEFAULTS.outageMs, '--outage (ms)', 0),
    stormMode: o.stormMode ?? DEFAULTS.stormMode,
    rogues: int(o.rogues ?? DEFAULTS.rogues, '--rogues', 1, 100),
    // An upper bound only: the wait also ends when no device has connected for 30 s (a stalled start).
    connectTimeoutMs: int(
      o.connectTimeoutMs ?? Math.round(60_000 + (devices / Math.min(ramp, 50)) * 1000),
      '--connect-timeout (ms)',
      1000,
    ),
    drainMs: int(o.drainMs ?? DEFAULTS.drainMs, '--drain (ms)', 0),
    outboxDepth: int(o.outboxDepth ?? DEFAULTS.outboxDepth, 'outbox depth', 1, 10_000),
    sealing: o.sealing ?? DEFAULTS.sealing,
    ...(o.restartServer ? { restartServer: o.restartServer } : {}),
    ...(o.serverRss ? { serverRss: o.serverRss } : {}),
    ...(o.onTick ? { onTick: o.onTick } : {}),
    ...(o.onStage ? { onStage: o.onStage } : {}),
    ...(o.onNote ? { onNote: o.onNote } : {}),
    ...(o.onIssue ? { onIssue: o.onIssue } : {}),
  };
}
