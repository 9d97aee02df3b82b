// createAgent: the composition of outbox, sampler, sender and connection for one device.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IClientOptions, MqttClient } from 'mqtt';
import { createLogger, deviceTopic, encode, type Logger, type StatusMessage } from '../../shared/src/index.js';
import type { AgentConfig } from './config.js';
import { AgentError } from './errors.js';
import { createBackoff } from './mqtt/backoff.js';
import { createConnection, type TlsCredentials } from './mqtt/connection.js';
import { openSqliteOutbox, type OutboxStats, type OutboxStore } from './outbox/index.js';
import { createLinuxPlatform, type Platform } from './platform/index.js';
import { createSampler } from './telemetry/sampler.js';
import { createSender } from './telemetry/sender.js';

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly platform?: Platform;
  /** Defaults to the SQLite outbox in config.stateDir. */
  readonly outbox?: OutboxStore;
  /** PEM contents; defaults to reading config.key/cert/ca. */
  readonly tls?: TlsCredentials;
  readonly log?: Logger;
  readonly now?: () => number;
  readonly connect?: (url: string, opts: IClientOptions) => MqttClient;
  readonly random?: () => number;
  readonly onAck?: (first: number, last: number) => void;
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
  sampleNow(): Promise<number>;
  close(): Promise<void>;
}

function readCredentials(config: AgentConfig): TlsCredentials {
  try {
    return { key: readFileSync(config.key), cert: readFileSync(config.cert), ca: readFileSync(config.ca) };
  } catch (err) {
    throw new AgentError('AGENT_CREDENTIALS', `cannot read the device credentials: ${(err as Error).message}`, { cause: err });
  }
}

export async function createAgent(opts: AgentOptions): Promise<Agent> {
  const { config } = opts;
  const now = opts.now ?? Date.now;
  const log = opts.log ?? createLogger({ level: config.log.level, format: config.log.format, base: { deviceId: config.deviceId } });
  const tls = opts.tls ?? readCredentials(config);
  const platform = opts.platform ?? createLinuxPlatform({ diskPath: config.stateDir });
  const outbox = opts.outbox ?? openSqliteOutbox(config.stateDir, { maxSamples: config.outbox.maxSamples });
  const statusTopic = deviceTopic(config.deviceId, 'status');

  const status = (state: StatusMessage['state']): Buffer =>
    encode({
      v: 1,
      id: randomUUID(),
      ts: now(),
      state,
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
    ...(opts.onAck ? { onAck: opts.onAck } : {}),
  });
  const sampler = createSampler({ platform, outbox, log, intervalMs: config.telemetryIntervalSeconds * 1000, now, onSample: () => sender.kick() });

  const connection = createConnection({
    url: config.server,
    clientId: config.deviceId,
    tls,
    log,
    backoff: createBackoff(config.reconnect.minSeconds * 1000, config.reconnect.maxSeconds * 1000, opts.random),
    will: () => ({ topic: statusTopic, payload: status('offline') }),
    ...(opts.connect ? { connect: opts.connect } : {}),
    onConnect(client) {
      client.publish(statusTopic, status('online'), { qos: 1, retain: true });
      sender.attach(client);
    },
    onClose() {
      sender.detach();
    },
  });

  sampler.start();
  connection.start();
  log.info('agent started', { server: config.server, stateDir: config.stateDir, intervalSeconds: config.telemetryIntervalSeconds });

  let closed: Promise<void> | undefined;
  return {
    deviceId: config.deviceId,
    outbox,
    get connected() {
      return connection.connected;
    },
    stats: () => ({ ...outbox.stats(), connected: connection.connected, deviceId: config.deviceId }),
    sampleNow: () => sampler.sampleNow(),
    close() {
      closed ??= (async () => {
        sampler.stop();
        // A clean DISCONNECT suppresses the will, so say "offline" ourselves first.
        await connection.stop(
          (client) =>
            new Promise<void>((resolve) => {
              client.publish(statusTopic, status('offline'), { qos: 1, retain: true }, () => resolve());
            }),
        );
        sender.detach();
        if (!opts.outbox) outbox.close();
        log.info('agent stopped', { ...outbox.stats() });
      })();
      return closed;
    },
  };
}
