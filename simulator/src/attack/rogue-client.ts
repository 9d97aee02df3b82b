// A rogue device: a registered gateway whose key an attacker holds, speaking MQTT directly (not through the
// agent, which would never misbehave). Every helper resolves with what the server did, never throws.
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, encode } from '../../../shared/src/index.js';

export interface RogueIdentity {
  readonly id: string;
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly ca: Buffer;
  readonly localAddress?: string;
}

const TIMEOUT_MS = 8000;

export function rogueConnect(url: string, r: RogueIdentity): Promise<MqttClient | undefined> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, {
      clientId: r.id,
      key: r.key,
      cert: r.cert,
      ca: r.ca,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: TIMEOUT_MS,
      keepalive: 30,
      ...(r.localAddress ? { localAddress: r.localAddress } : {}),
    } as mqtt.IClientOptions);
    const done = (ok: boolean) => {
      clearTimeout(t);
      if (!ok) c.end(true);
      resolve(ok ? c : undefined);
    };
    const t = setTimeout(() => done(false), TIMEOUT_MS);
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
    c.once('close', () => done(false));
  });
}

/** A valid telemetry message, so the only reason to refuse it is who sends it where. */
export function telemetryBody(seq: number, stream: string): Buffer {
  return encode({
    v: 1,
    id: `${stream}-${seq}`.slice(0, 64).padEnd(8, '0'),
    ts: Date.now(),
    stream,
    samples: [{ seq, ts: Date.now(), m: { cpuLoad1: 0.5 } }],
  });
}

type Answer = 'denied' | 'accepted' | 'no-answer';

/**
 * Runs one MQTT action on a connection used for nothing else and settles on its answer: 'denied' also when the
 * server closes the connection instead, 'no-answer' after the timeout. The connection is dropped either way.
 */
function answerOnce(c: MqttClient, act: (answer: (v: Answer) => void) => void): Promise<Answer> {
  return new Promise((resolve) => {
    let settled = false;
    const answer = (v: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      c.end(true);
      resolve(v);
    };
    const t = setTimeout(() => answer('no-answer'), TIMEOUT_MS);
    c.once('close', () => answer('denied'));
    act(answer);
  });
}

/** Publishes once at QoS 1: 'denied' when the server closes the connection instead of acknowledging. */
export function publishOnce(c: MqttClient, topic: string, payload: Buffer, retain = false): Promise<Answer> {
  return answerOnce(c, (answer) =>
    c.publish(topic, payload, { qos: 1, retain }, (err) => answer(err ? 'denied' : 'accepted')),
  );
}

/** Subscribes to one filter: 'denied' for SUBACK 0x80 (or a closed connection). */
export function subscribeOnce(c: MqttClient, filter: string): Promise<Answer> {
  return answerOnce(c, (answer) =>
    c.subscribe(filter, { qos: 1 }, (err, granted) => {
      if (err) return answer('denied');
      answer(granted?.[0]?.qos === 128 ? 'denied' : 'accepted');
    }),
  );
}

/**
 * Publishes QoS 1 telemetry on its own topic as fast as the socket takes it, never waiting for PUBACKs:
 * 'denied' when the server cuts the device off within `limitMs`.
 */
export function flood(
  c: MqttClient,
  deviceId: string,
  limitMs = 15_000,
): Promise<{ verdict: 'denied' | 'accepted'; sent: number }> {
  return new Promise((resolve) => {
    const topic = deviceTopic(deviceId, 'telemetry');
    const stream = `flood${Date.now().toString(36)}`;
    let sent = 0;
    let settled = false;
    const done = (verdict: 'denied' | 'accepted') => {
      if (settled) return;
      settled = true;
      clearInterval(pump);
      clearTimeout(t);
      c.end(true);
      resolve({ verdict, sent });
    };
    const burst = () => {
      for (let i = 0; i < 100 && c.connected; i++)
        c.publish(topic, telemetryBody(++sent, stream), { qos: 1 }, () => {});
    };
    const pump = setInterval(burst, 10);
    const t = setTimeout(() => done('accepted'), limitMs);
    c.once('close', () => done('denied'));
    c.on('error', () => {});
    burst();
  });
}
