// "Bring your own broker": the fleet backend as an MQTT client of a broker the site already runs (mosquitto, EMQX,
// HiveMQ…). It subscribes to every device's publish channels and hands what arrives to the same ingest the built-in
// listener feeds; it publishes commands and update offers (sealed per device by seal-outgoing.ts) to that broker.
// The broker is not trusted: the device id comes from the topic and is proven by the sealing key (ingest-open.ts).
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  type Channel,
  DEVICE_PUBLISH_CHANNELS,
  type Logger,
  TOPIC_ROOT,
  tryParseTopic,
  isDevicePublishChannel,
} from '../../../shared/src/index.js';
import type { Ingest } from '../fleet/ingest.js';

/** PUBACK reason code 0x87 (MQTT 5): not authorized. Ends the QoS 1 flow for a message the backend will not take. */
const NOT_AUTHORIZED = 0x87;

export interface UpstreamOptions {
  /** mqtts://HOST:PORT of the broker. */
  readonly url: string;
  /** PEM contents of the backend's client certificate, its key and the CA that signed the broker's certificate. */
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
  /** Fixed, so the broker keeps this backend's persistent session (and its queued messages) across restarts. */
  readonly clientId: string;
  readonly ingest: Pick<Ingest, 'submit'>;
  readonly log: Logger;
  /** A revoked device's messages are refused here (counted, logged, not stored). */
  readonly isRevoked?: (deviceId: string) => boolean;
  /** A message on a topic no device publishes on, or from a malformed device id: refused, counted here. */
  readonly onRefused?: (topic: string, reason: string) => void;
  /** Every (re)connect, once the subscriptions are granted. */
  readonly onConnected?: () => void;
  /** Reconnect delay (default 1 s). */
  readonly reconnectMs?: number;
}

export interface Upstream {
  /** Publishes at QoS 1; resolves once the broker acknowledged it. */
  publish(topic: string, payload: Buffer): Promise<void>;
  readonly connected: boolean;
  close(): Promise<void>;
}

/** fleet/v1/+/telemetry, fleet/v1/+/exposure, …: what devices publish, nothing else. */
export const UPSTREAM_SUBSCRIPTIONS: readonly string[] = DEVICE_PUBLISH_CHANNELS.map((c) => `${TOPIC_ROOT}/+/${c}`);

/**
 * Connects (and keeps reconnecting) to the upstream broker. The PUBACK of a device message is sent only after ingest
 * committed it: MQTT.js's `customHandleAcks` holds the acknowledgement until its callback runs, and only with MQTT 5
 * (with 3.1.1 it acknowledges at once): test/integration/upstream-broker.test.ts fails if that changes. With MQTT 5
 * a persistent session needs a session expiry: clean start false alone would end the session at disconnect.
 */
export function connectUpstream(opts: UpstreamOptions): Upstream {
  const { log } = opts;
  const options: IClientOptions = {
    protocolVersion: 5,
    clientId: opts.clientId,
    clean: false,
    properties: { sessionExpiryInterval: 0xffffffff },
    cert: opts.cert,
    key: opts.key,
    ca: opts.ca,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    reconnectPeriod: opts.reconnectMs ?? 1000,
    // A refused CONNECT (a wrong certificate, an ACL changed) is retried too: the backend must not give up.
    reconnectOnConnackError: true,
    resubscribe: false,
    customHandleAcks: (
      topic: string,
      message: Buffer,
      _packet: unknown,
      ack: (err: Error | null, code: number) => void,
    ) => take(topic, message, ack),
  } as IClientOptions;
  const client: MqttClient = mqtt.connect(opts.url, options);

  function take(topic: string, message: Buffer, ack: (err: Error | null, code: number) => void): void {
    const parsed = tryParseTopic(topic);
    if (!parsed || !isDevicePublishChannel(parsed.channel)) {
      opts.onRefused?.(topic, 'topic');
      log.warn('upstream message on a topic no device publishes on: refused', { topic: topic.slice(0, 200) });
      return ack(null, NOT_AUTHORIZED);
    }
    if (opts.isRevoked?.(parsed.deviceId)) {
      opts.onRefused?.(topic, 'revoked');
      log.warn('upstream message from a revoked device: refused', { deviceId: parsed.deviceId, topic });
      return ack(null, NOT_AUTHORIZED);
    }
    const channel: Channel = parsed.channel;
    // Refused messages (forged, replayed, unsealed) are counted and logged by ingest and acknowledged: redelivering
    // them would not change the verdict. A failed commit is not acknowledged: the broker delivers it again.
    opts.ingest.submit(parsed.deviceId, channel, topic, message, (err?: Error | null) => {
      if (err) {
        log.warn('upstream message not stored: not acknowledged', { topic, error: err });
        return;
      }
      ack(null, 0);
    });
  }

  client.on('connect', (connack) => {
    log.info('connected to the upstream broker', { url: opts.url, sessionPresent: connack.sessionPresent === true });
    // Subscribed on every connect: cheap, and it repairs a session the broker lost (a restart without persistence).
    client.subscribe([...UPSTREAM_SUBSCRIPTIONS], { qos: 1 }, (err, granted) => {
      if (err) return log.error('upstream subscription failed', { error: err });
      const refused = (granted ?? []).filter((g) => g.qos !== 1);
      if (refused.length > 0)
        log.error('upstream broker refused subscriptions: check its ACL for the backend', {
          topics: refused.map((g) => g.topic),
        });
      opts.onConnected?.();
    });
  });
  client.on('error', (err) => log.warn('upstream broker error', { url: opts.url, error: err }));
  client.on('offline', () => log.warn('upstream broker unreachable; reconnecting', { url: opts.url }));

  return {
    get connected() {
      return client.connected;
    },
    publish(topic, payload) {
      return new Promise<void>((resolve, reject) =>
        client.publish(topic, payload, { qos: 1, retain: false }, (err) => (err ? reject(err) : resolve())),
      );
    },
    close() {
      // Forced: a message whose commit is still pending is not acknowledged, so the broker delivers it again (ingest
      // keeps it once); a command not yet acknowledged is sent again when its device next says it is online.
      return new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    },
  };
}
