// createAgent: the composition of state (outbox + replay store), sampler, sender, command executor and
// connection for one device. Everything outside (clock, platform, stores, transport, scanner) is injectable,
// so the simulator runs thousands of agents in one process with in-memory stores.
import { randomUUID } from 'node:crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import {
  createLogger,
  deviceTopic,
  encode,
  type DevicePublishChannel,
  type Logger,
  type StatusMessage,
} from '../../shared/src/index.js';
import { encodeCmdAck, type CmdAck } from '../../shared/src/commands/index.js';
import {
  createCommandExecutor,
  createDeviceStateStore,
  createKeyring,
  type CommandActions,
  type Keyring,
} from './commands/index.js';
import type { AgentConfig } from './config.js';
import { loadCredentials } from './credentials.js';
import { AgentError } from './errors.js';
import { createBackoff } from './mqtt/backoff.js';
import { createConnection, type TlsCredentials } from './mqtt/connection.js';
import type { OutboxStats, OutboxStore } from './outbox/index.js';
import { createLinuxPlatform, type Platform } from './platform/index.js';
import { createMemoryReplayStore, type ReplayStore } from './replay/index.js';
import { createRuntimeRecorder, openAgentState, processIdentity } from './state/index.js';
import { createSampler } from './telemetry/sampler.js';
import { createSender } from './telemetry/sender.js';

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
  readonly log?: Logger;
  readonly now?: () => number;
  readonly connect?: (url: string, opts: IClientOptions) => MqttClient;
  readonly random?: () => number;
  readonly onAck?: (first: number, last: number) => void;
  /** Every command acknowledgement, as it is queued for sending (simulator views, tests). */
  readonly onCommandAck?: (ack: CmdAck) => void;
  /** Process id written to the runtime record `iot-agent status` reads (default: this process). */
  readonly pid?: number;
}

export interface AgentStats extends OutboxStats {
  readonly connected: boolean;
  readonly deviceId: string;
}

export interface Agent {
  readonly deviceId: string;
  readonly outbox: OutboxStore;
  readonly connected: boolean;
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
  if (!opts.outbox && !opts.replay) return openAgentState(config.stateDir, bounds);
  if (!opts.outbox)
    throw new AgentError('AGENT_STATE_DIR', 'a replay store was injected without an outbox; inject both or neither');
  // Injected stores belong to the caller, who closes them.
  return { outbox: opts.outbox, replay: opts.replay ?? createMemoryReplayStore(), close: () => {} };
}

export async function createAgent(opts: AgentOptions): Promise<Agent> {
  const { config } = opts;
  const now = opts.now ?? Date.now;
  const log =
    opts.log ??
    createLogger({ level: config.log.level, format: config.log.format, base: { deviceId: config.deviceId } });
  const tls = opts.tls ?? loadCredentials(config, now());
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

  const runtime = createRuntimeRecorder({
    outbox,
    now,
    initial: {
      pid: opts.pid ?? process.pid,
      identity: processIdentity(opts.pid ?? process.pid),
      startedAt: now(),
      updatedAt: now(),
      stoppedAt: null,
      server: config.server,
      connected: false,
      connectedSince: null,
      agentVersion: platform.agentVersion,
      firmwareVersion: platform.firmwareVersion ?? null,
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
      ...(platform.firmwareVersion ? { firmwareVersion: platform.firmwareVersion } : {}),
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
  });
  const sampler = createSampler({
    platform,
    outbox,
    log,
    intervalMs: intervalSeconds * 1000,
    now,
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
  const connection = createConnection({
    url: config.server,
    clientId: config.deviceId,
    tls,
    log,
    backoff: createBackoff(config.reconnect.minSeconds * 1000, config.reconnect.maxSeconds * 1000, opts.random),
    will: () => ({ topic: statusTopic, payload: status('offline') }),
    ...(opts.connect ? { connect: opts.connect } : {}),
    onConnect(client) {
      runtime.update({ connected: true, connectedSince: now() }, true);
      client.publish(statusTopic, status('online'), { qos: 1, retain: true });
      client.on('message', (topic, payload) => {
        if (topic === cmdTopic && accepting) void executor.handle(payload);
      });
      // Subscribed on every connect: sessions are clean, the server redelivers unacknowledged commands.
      client.subscribe(cmdTopic, { qos: 1 }, (err) => {
        if (err) log.warn('command subscription failed', { error: err });
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

  sampler.start();
  connection.start();
  log.info('agent started', {
    server: config.server,
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
    stats: () => ({ ...outbox.stats(), connected: connection.connected, deviceId: config.deviceId }),
    sampleNow: () => sampler.sampleNow(),
    send,
    commandsIdle: () => executor.idle(),
    close() {
      closed ??= (async () => {
        accepting = false;
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
              client.publish(statusTopic, status('offline'), { qos: 1, retain: true }, () => resolve());
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
