// How the fleet server reaches devices: its own MQTT listener (aedes), or an upstream broker it is a client of.
// Both feed the same ingest; the server publishes commands and offers through this one interface.
import type { Logger } from '../../../shared/src/index.js';
import type { Ingest } from '../fleet/ingest.js';
import type { FleetMetrics } from '../metrics/fleet-metrics.js';
import type { MqttListener } from './broker.js';
import { connectUpstream } from './upstream.js';

export interface DeviceTransport {
  /** The listener's port; 0 upstream (the backend listens for no device). */
  readonly port: number;
  /** Publishes an already sealed message at QoS 1. */
  publish(topic: string, payload: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface UpstreamConfig {
  /** mqtts://HOST:PORT */
  readonly url: string;
  /** PEM contents of the backend's client certificate and key, and the CA of the broker's certificate. */
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
  /** The persistent session's client id (default edgeward-backend). */
  readonly clientId?: string;
}

/** aedes publishes as the backend; authorizeForward still delivers only to the device whose subtree it is. */
export function aedesTransport(listener: MqttListener): DeviceTransport {
  return {
    port: listener.port,
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) =>
        listener.aedes.publish({ cmd: 'publish', topic, payload, qos: 1, dup: false, retain: false }, (err?: Error) =>
          err ? reject(err) : resolve(),
        ),
      ),
    close: () => listener.close(),
  };
}

export function upstreamTransport(
  cfg: UpstreamConfig,
  deps: {
    ingest: Ingest;
    metrics: FleetMetrics;
    log: Logger;
    /** Revoked devices: the broker may still let them in (it may not check the fleet's revocations). */
    isRevoked: (deviceId: string) => boolean;
    /** Connected (again) to the broker: what was published while it was unreachable may be lost. */
    onConnected: () => void;
  },
): DeviceTransport {
  const upstream = connectUpstream({
    url: cfg.url,
    cert: cfg.cert,
    key: cfg.key,
    ca: cfg.ca,
    clientId: cfg.clientId ?? 'edgeward-backend',
    ingest: deps.ingest,
    log: deps.log,
    isRevoked: deps.isRevoked,
    onRefused: (_topic, reason) => deps.metrics.denials.inc({ kind: 'upstream', reason }),
    onConnected: deps.onConnected,
  });
  return { port: 0, publish: (t, p) => upstream.publish(t, p), close: () => upstream.close() };
}
