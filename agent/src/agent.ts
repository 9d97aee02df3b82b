// createAgent: the composition of state (outbox + replay store), sampler, sender, command executor and
// connection for one device. Everything outside (clock, platform, stores, transport, scanner) is injectable,
// so the simulator runs thousands of agents in one process with in-memory stores.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import {
  createLogger,
  deviceTopic,
  encode,
  type DevicePublishChannel,
  type Logger,
  type SealChannel,
  type StatusMessage,
  type UpdateState,
} from '../../shared/src/index.js';
import { encodeCmdAck, type CmdAck } from '../../shared/src/commands/index.js';
import {
  createCommandExecutor,
  createDeviceStateStore,
  createKeyring,
  type CommandActions,
  type Keyring,
} from './commands/index.js';
import { type AgentConfig, serverList } from './config.js';
import { loadCredentials } from './credentials.js';
import { createDeviceSealer, loadSealChannel, sealedPayload } from './seal.js';
import { AgentError } from './errors.js';
import { createBackoff } from './mqtt/backoff.js';
import { createConnection, type TlsCredentials } from './mqtt/connection.js';
import type { OutboxStats, OutboxStore } from './outbox/index.js';
import { createHookRunner, createLinuxPlatform, type Platform } from './platform/index.js';
import { createMemoryReplayStore, type ReplayStore } from './replay/index.js';
import { agentStorageKey, createRuntimeRecorder, openAgentState, processIdentity } from './state/index.js';
import { createSampler } from './telemetry/sampler.js';
import { createSender } from './telemetry/sender.js';
import {
  createAbInstaller,
  createDownloader,
  createKvUpdateStore,
  createScriptInstaller,
  createUpdateClient,
  type UpdateClient,
  type UpdateDeps,
} from './update/index.js';

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly platform?: Platform;
  /** Defaults to the SQLite outbox in config.stateDir (agent.db). */
  readonly outbox?: OutboxStore;
  /** Nonces and counters of signed commands. Defaults to agent.db; in memory when only `outbox` is injected. */
  readonly replay?: ReplayStore;
  /** Trusted operator keys; defaults to config.operators. */
  readonly keyring?: Keyring;
  /**
   * Runs an exposure scan and returns the encoded report (CBOR, shared/src/messages/exposure.ts). With it the
   * device has the `scan` capability: `scan-now` queues the report on the exposure channel.
   */
  readonly scanner?: () => Promise<Uint8Array>;
  /** With a scanner: scan at start and then every this many ms, sending each report (0: only on scan-now). */
  readonly scanIntervalMs?: number;
  /**
   * PEM contents; defaults to reading config.key/cert/ca, which are then checked (checkDeviceIdentity). Injected
   * credentials are trusted as given: checking costs about 0.7 ms of CPU per device (mostly parsing the key), which
   * thousands of simulated devices would pay at every start for certificates their simulator has just issued.
   */
  readonly tls?: TlsCredentials;
  /**
   * The sealing channel to the backend (device key + backend public key); defaults to reading config.seal's files.
   * null sends plain messages, as config.seal.enabled false does (for a server set to sealing "optional").
   */
  readonly seal?: SealChannel | null;
  readonly log?: Logger;
  readonly now?: () => number;
  /**
   * A telemetry tick that runs more than this many ms late takes no sample (`onSampleSkipped`): a simulator running
   * thousands of agents on one event loop sheds load while it is behind instead of falling further behind. A gateway
   * leaves it unset and samples however late.
   */
  readonly skipLateSampleMs?: number;
  readonly onSampleSkipped?: () => void;
  readonly connect?: (url: string, opts: IClientOptions) => MqttClient;
  readonly random?: () => number;
  readonly onAck?: (first: number, last: number) => void;
  /** Every command acknowledgement, as it is queued for sending (simulator views, tests). */
  readonly onCommandAck?: (ack: CmdAck) => void;
  /** Process id written to the runtime record `iot-agent status` reads (default: this process). */
  readonly pid?: number;
  /**
   * The update client's parts (store, installer, download, health check, trust document, hardware id). Each
   * defaults from config.update; firmware updates are on when this is given or config.update.trust is set.
   */
  readonly update?: UpdateDeps;
}

export interface AgentStats extends OutboxStats {
  readonly connected: boolean;
  readonly deviceId: string;
}

export interface Agent {
  readonly deviceId: string;
  readonly outbox: OutboxStore;
  readonly connected: boolean;
  /** The firmware update state (Idle when none runs); null when updates are off. */
  readonly updateState: UpdateState | null;
  /** The firmware version running now (the installer's active slot with updates on). */
  readonly firmwareVersion: string | undefined;
  stats(): AgentStats;
  /** Takes and stores a sample now; rejects with AGENT_SAMPLE_DROPPED (counted in stats) when it cannot be stored. */
  sampleNow(): Promise<number>;
  /** Stores a report (e.g. an exposure report) in the outbox; it is sent, and resent, until acknowledged. */
  send(channel: Exclude<DevicePublishChannel, 'telemetry' | 'status'>, payload: Uint8Array): number;
  /** Resolves when every command received so far has been handled and acknowledged into the outbox. */
  commandsIdle(): Promise<void>;
  close(): Promise<void>;
}

/** How long a clean stop waits for in-flight publishes to be acknowledged. */
const QUIESCE_MS = 3000;
/** How long a reboot waits for its acknowledgements to reach the broker. */
const REBOOT_FLUSH_MS = 5000;

function openState(opts: AgentOptions): { outbox: OutboxStore; replay: ReplayStore; close: () => void } {
  const { config } = opts;
  const bounds = { maxSamples: config.outbox.maxSamples, maxMessages: config.outbox.maxMessages };
  if (!opts.outbox && !opts.replay) {
    return openAgentState(config.stateDir, { ...bounds, storageKey: agentStorageKey(config) });
  }
  if (!opts.outbox)
    throw new AgentError('AGENT_STATE_DIR', 'a replay store was injected without an outbox; inject both or neither');
  // Injected stores belong to the caller, who closes them.
  return { outbox: opts.outbox, replay: opts.replay ?? createMemoryReplayStore(), close: () => {} };
}

/** The configured trust document's bytes; UPDATE_TRUST when it cannot be read. */
function readTrust(file: string | undefined): Uint8Array {
  if (!file) throw new AgentError('UPDATE_TRUST', 'firmware updates need update.trust (the trust document)');
  try {
    return new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new AgentError('UPDATE_TRUST', `cannot read the trust document ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export async function createAgent(opts: AgentOptions): Promise<Agent> {
  const { config } = opts;
  const now = opts.now ?? Date.now;
  const log =
    opts.log ??
    createLogger({ level: config.log.level, format: config.log.format, base: { deviceId: config.deviceId } });
  const tls = opts.tls ?? loadCredentials(config, now());
  const sealChannel = opts.seal !== undefined ? opts.seal : config.seal.enabled ? loadSealChannel(config) : null;
  const sealer = sealChannel ? createDeviceSealer(sealChannel) : undefined;
  /** Seals what goes to the backend; plain when sealing is off. */
  const outgoing = (topic: string, payload: Buffer): Buffer => (sealer ? sealer.seal(topic, payload) : payload);
  /**
   * What came from the backend, opened before any other check; undefined (logged without its contents, dropped)
   * when it does not open, or is plain while this device seals: the backend seals for every device with a key.
   */
  const incoming = (topic: string, payload: Buffer): Buffer | undefined => {
    if (!sealer) return payload;
    if (!sealedPayload(payload)) {
      log.warn('refused a plain message from the backend: this device expects sealed ones', {
        topic,
        code: 'SEAL_REQUIRED',
      });
      return undefined;
    }
    try {
      return Buffer.from(sealer.open(topic, payload));
    } catch (err) {
      log.warn('refused a sealed message from the backend', { topic, code: (err as { code?: string }).code });
      return undefined;
    }
  };
  const keyring = opts.keyring ?? createKeyring(config.operators);
  const platform =
    opts.platform ??
    createLinuxPlatform({
      diskPath: config.stateDir,
      hooks: config.commands.hooks,
      hookTimeoutMs: config.commands.hookTimeoutSeconds * 1000,
    });
  const state = openState(opts);
  const { outbox } = state;
  const statusTopic = deviceTopic(config.deviceId, 'status');
  const cmdTopic = deviceTopic(config.deviceId, 'cmd');
  const deviceState = createDeviceStateStore(outbox, {
    ...(platform.setSetpoint ? { setpointC: config.commands.initialSetpointC } : {}),
    telemetryIntervalSeconds: config.telemetryIntervalSeconds,
  });
  const intervalSeconds = deviceState.read().telemetryIntervalSeconds ?? config.telemetryIntervalSeconds;

  // Firmware updates: the installer's running slot is the firmware version the agent reports.
  const up = config.update;
  const hardware = opts.update?.hardware ?? up.hardware;
  const updateEnabled = opts.update !== undefined || up.trust !== undefined;
  const installer = !updateEnabled
    ? undefined
    : (opts.update?.installer ??
      (up.installer === 'script' && up.hooks
        ? createScriptInstaller(up.hooks, { timeoutMs: up.hookTimeoutSeconds * 1000 })
        : createAbInstaller({
            stateDir: config.stateDir,
            initialVersion: up.initialVersion,
            initialSequence: up.initialSequence,
          })));
  let firmwareVersion = installer ? (await installer.current()).version : platform.firmwareVersion;

  const runtime = createRuntimeRecorder({
    outbox,
    now,
    initial: {
      pid: opts.pid ?? process.pid,
      identity: processIdentity(opts.pid ?? process.pid),
      startedAt: now(),
      updatedAt: now(),
      stoppedAt: null,
      server: serverList(config)[0]!,
      connected: false,
      connectedSince: null,
      agentVersion: platform.agentVersion,
      firmwareVersion: firmwareVersion ?? null,
      telemetryIntervalSeconds: intervalSeconds,
      lastTelemetryAckAt: null,
      lastMessageAckAt: null,
      lastCommandAt: null,
    },
  });
  runtime.update({}, true);

  const status = (s: StatusMessage['state']): Buffer =>
    encode({
      v: 1,
      id: randomUUID(),
      ts: now(),
      state: s,
      agentVersion: platform.agentVersion,
      ...(firmwareVersion ? { firmwareVersion } : {}),
      ...(hardware ? { hardware } : {}),
    } satisfies StatusMessage);

  const sender = createSender({
    deviceId: config.deviceId,
    outbox,
    log,
    maxBatch: config.outbox.maxBatch,
    messagesPerSecond: config.outbox.drainMessagesPerSecond,
    now,
    onAck(first, last) {
      runtime.update({ lastTelemetryAckAt: now() });
      opts.onAck?.(first, last);
    },
    onMessageAck: () => runtime.update({ lastMessageAckAt: now() }),
    ...(sealer ? { seal: (topic: string, payload: Uint8Array) => sealer.seal(topic, payload) } : {}),
  });
  const sampler = createSampler({
    platform,
    outbox,
    log,
    intervalMs: intervalSeconds * 1000,
    now,
    ...(opts.skipLateSampleMs !== undefined ? { skipLateMs: opts.skipLateSampleMs } : {}),
    ...(opts.onSampleSkipped ? { onSkipped: opts.onSampleSkipped } : {}),
    onSample: () => sender.kick(),
  });

  const send = (channel: DevicePublishChannel, payload: Uint8Array): number => {
    const id = outbox.addMessage(channel, payload);
    sender.kick();
    return id;
  };

  /** Waits until the outbox holds no message (acks, reports) or `ms` passed. */
  const flushMessages = async (ms: number) => {
    const deadline = now() + ms;
    while (outbox.stats().messages > 0 && now() < deadline) await new Promise((r) => setTimeout(r, 50));
  };

  const scanner = opts.scanner;
  const { reboot, setRelay, setSetpoint } = platform;
  const actions: CommandActions = {
    setTelemetryInterval(seconds) {
      sampler.setInterval(seconds * 1000);
      runtime.update({ telemetryIntervalSeconds: seconds }, true);
    },
    // The acknowledgement is stored before the reboot; we give it a moment to reach the broker first.
    ...(reboot ? { reboot: async () => (await flushMessages(REBOOT_FLUSH_MS), await reboot.call(platform)) } : {}),
    ...(setRelay ? { setRelay: (channel: number, on: boolean) => setRelay.call(platform, channel, on) } : {}),
    ...(setSetpoint ? { setSetpoint: (celsius: number) => setSetpoint.call(platform, celsius) } : {}),
    ...(scanner ? { scanNow: async () => void send('exposure', await scanner()) } : {}),
  };
  const executor = createCommandExecutor({
    deviceId: config.deviceId,
    keyring,
    replay: state.replay,
    actions,
    state: deviceState,
    log,
    now,
    toleranceMs: config.commands.clockToleranceSeconds * 1000,
    emit(ack) {
      send('cmd/ack', encodeCmdAck(ack));
      runtime.update({ lastCommandAt: now() });
      opts.onCommandAck?.(ack);
    },
  });

  let accepting = true;
  const updateTopic = deviceTopic(config.deviceId, 'update');
  let update: UpdateClient | undefined;
  const connection = createConnection({
    urls: serverList(config),
    clientId: config.deviceId,
    tls,
    log,
    backoff: createBackoff(config.reconnect.minSeconds * 1000, config.reconnect.maxSeconds * 1000, opts.random),
    failoverJitterMs: config.reconnect.minSeconds * 1000,
    ...(opts.random ? { random: opts.random } : {}),
    // The will is fixed at connect time, so it is sealed then (a fresh message id and nonce per attempt).
    will: () => ({ topic: statusTopic, payload: outgoing(statusTopic, status('offline')) }),
    ...(opts.connect ? { connect: opts.connect } : {}),
    onConnect(client, server) {
      runtime.update({ connected: true, connectedSince: now(), server }, true);
      client.on('message', (topic, raw) => {
        if (!accepting || (topic !== cmdTopic && topic !== updateTopic)) return;
        const payload = incoming(topic, raw);
        if (!payload) return;
        if (topic === cmdTopic) void executor.handle(payload);
        else update?.handleOffer(payload);
      });
      // Subscribed on every connect (sessions are clean; the server redelivers unacknowledged commands), and only
      // then announced online: a backend behind another broker learns of the device from this status and sends
      // what it holds at once, which a broker drops while the device has no subscription yet.
      const topics = update ? [cmdTopic, updateTopic] : [cmdTopic];
      // The acknowledged status is what confirms a new firmware image healthy (its version is in it).
      const sentVersion = firmwareVersion;
      client.subscribe(topics, { qos: 1 }, (err) => {
        // Failed, the connection is going away (or closed under it): the next connect subscribes and announces
        // again. Publishing on a client that has ended would throw from MQTT.js's closed outgoing store.
        if (err) return log.warn('command subscription failed', { error: err });
        if (client.disconnecting || client.disconnected) return;
        client.publish(statusTopic, outgoing(statusTopic, status('online')), { qos: 1, retain: true }, (err) => {
          if (!err && sentVersion) update?.confirmed(sentVersion);
        });
      });
      sender.attach(client);
    },
    onClose() {
      sender.detach();
      runtime.update({ connected: false, connectedSince: null }, true);
    },
  });

  // Scheduled scans: one at start, then every interval; a failed scan is logged and tried again next time.
  let scanTimer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;
  const scanAndReport = () => {
    if (!scanner || scanning) return;
    scanning = scanner()
      .then((report) => void send('exposure', report))
      .catch((err: unknown) => log.warn('exposure scan failed', { error: err as Error }))
      .finally(() => (scanning = undefined));
  };
  if (scanner && (opts.scanIntervalMs ?? 0) > 0) {
    scanAndReport();
    scanTimer = setInterval(scanAndReport, opts.scanIntervalMs);
    scanTimer.unref?.();
  }

  if (installer) {
    const workDir = join(config.stateDir, 'update');
    mkdirSync(workDir, { recursive: true, mode: 0o700 });
    const hookRunner = createHookRunner({ timeoutMs: up.hookTimeoutSeconds * 1000 });
    const healthHook = up.healthCheck.hook;
    const healthCheck = opts.update?.healthCheck ?? (healthHook ? () => hookRunner(healthHook, {}) : undefined);
    update = createUpdateClient({
      store: opts.update?.store ?? createKvUpdateStore(outbox),
      installer,
      download:
        opts.update?.download ??
        createDownloader({ attempts: up.download.attempts, baseDelayMs: up.download.baseDelaySeconds * 1000 }),
      ...(healthCheck ? { healthCheck } : {}),
      trust: opts.update?.trust ?? (() => readTrust(up.trust)),
      ...(hardware ? { hardware } : {}),
      agentVersion: platform.agentVersion,
      tls,
      workDir,
      log,
      now,
      send: (payload) => void send('update/status', payload),
      async restartConnection() {
        await connection.stop();
        connection.start();
      },
      onFirmware(version) {
        firmwareVersion = version;
        runtime.update({ firmwareVersion: version }, true);
      },
      healthDeadlineMs: up.healthCheck.deadlineSeconds * 1000,
      maxStarts: up.maxStarts,
      ...(process.env.EDGEWARD_UPDATE_KILL_AT ? { killAt: process.env.EDGEWARD_UPDATE_KILL_AT } : {}),
    });
  }

  sampler.start();
  connection.start();
  void update?.start().catch((err: unknown) => log.error('update could not resume', { error: err as Error }));
  log.info('agent started', {
    server: config.server,
    sealing: sealer ? `device key ${sealer.deviceKid}, backend key ${sealer.backendKid}` : 'off',
    stateDir: config.stateDir,
    intervalSeconds,
    operators: keyring.size,
  });

  let closed: Promise<void> | undefined;
  return {
    deviceId: config.deviceId,
    outbox,
    get connected() {
      return connection.connected;
    },
    get updateState() {
      return update?.state ?? null;
    },
    get firmwareVersion() {
      return firmwareVersion;
    },
    stats: () => ({ ...outbox.stats(), connected: connection.connected, deviceId: config.deviceId }),
    sampleNow: () => sampler.sampleNow(),
    send,
    commandsIdle: () => executor.idle(),
    close() {
      closed ??= (async () => {
        accepting = false;
        // A download in progress is not waited for: it resumes from its .part file at the next start.
        await Promise.race([update?.close(), new Promise((r) => setTimeout(r, QUIESCE_MS).unref())]);
        sampler.stop();
        clearInterval(scanTimer);
        await scanning;
        await executor.idle();
        // Let what is in flight be acknowledged (and so deleted), then say "offline": a clean DISCONNECT
        // suppresses the will.
        await sender.quiesce(QUIESCE_MS);
        await connection.stop(
          (client) =>
            new Promise<void>((resolve) => {
              const offline = outgoing(statusTopic, status('offline'));
              client.publish(statusTopic, offline, { qos: 1, retain: true }, () => resolve());
            }),
        );
        sender.detach();
        runtime.update({ connected: false, connectedSince: null, stoppedAt: now() }, true);
        runtime.flush();
        const stats = outbox.stats();
        state.close();
        log.info('agent stopped', { ...stats });
      })();
      return closed;
    },
  };
}
