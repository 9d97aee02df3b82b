// A QoS 1 publish load over mutual TLS: N clients, each keeping a window of publishes in flight.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { encode } from '../../shared/src/index.js';

export interface LoadOptions {
  readonly url: string;
  /** Folder with one sub-folder per device id holding device.key, device.crt and ca.crt. */
  readonly devicesDir: string;
  readonly ids: readonly string[];
  readonly window: number;
}

export interface Load {
  acked(): number;
  errors(): number;
  readonly payloadBytes: number;
  stop(): Promise<void>;
}

/** A telemetry message as small as the schema allows (about 64 bytes), unique per (device, seq). */
export function telemetryPayload(seq: number, stream: string): Buffer {
  return encode({ v: 1, id: `m${stream}${seq}`.padEnd(8, '0'), ts: Date.now(), stream, samples: [{ seq, ts: 0, m: { c: 1 } }] });
}

export async function startLoad(opts: LoadOptions): Promise<Load> {
  let acked = 0;
  let errors = 0;
  let running = true;
  const stream = `s${Date.now().toString(36)}`;
  const clients = await Promise.all(
    opts.ids.map(async (id) => {
      const d = join(opts.devicesDir, id);
      const client = await mqtt.connectAsync(opts.url, {
        clientId: id,
        key: readFileSync(join(d, 'device.key')),
        cert: readFileSync(join(d, 'device.crt')),
        ca: readFileSync(join(d, 'ca.crt')),
        protocolVersion: 4,
        reconnectPeriod: 0,
        keepalive: 60,
      });
      client.on('error', () => errors++);
      return { id, client };
    }),
  );
  let seq = 1;
  for (const { id, client } of clients) {
    const topic = `fleet/v1/${id}/telemetry`;
    const send = (): void => {
      if (!running || !client.connected) return;
      client.publish(topic, telemetryPayload(seq++, stream), { qos: 1 }, (err) => {
        if (!running) return; // in-flight publishes cut off by stop() are not errors
        if (err) errors++;
        else acked++;
        send();
      });
    };
    for (let i = 0; i < opts.window; i++) send();
  }
  return {
    acked: () => acked,
    errors: () => errors,
    payloadBytes: telemetryPayload(1_000_000, stream).length,
    async stop() {
      running = false;
      await Promise.all(clients.map(({ client }) => client.endAsync(true).catch(() => {})));
    },
  };
}
