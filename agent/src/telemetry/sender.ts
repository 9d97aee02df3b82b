// Drains the outbox over the live connection: a bounded window of QoS 1 publishes, a bounded message rate,
// and deletion only on PUBACK. After a reconnect everything unacknowledged is sent again (the backend is idempotent).
import type { MqttClient } from 'mqtt';
import { deviceTopic, encode, type Logger, type TelemetryMessage } from '../../../shared/src/index.js';
import type { OutboxStore } from '../outbox/index.js';

export interface SenderOptions {
  readonly deviceId: string;
  readonly outbox: OutboxStore;
  readonly log: Logger;
  readonly maxBatch: number;
  /** Publishes per second (token bucket, burst of one second's worth). */
  readonly messagesPerSecond: number;
  readonly maxInflight?: number;
  readonly now?: () => number;
  /** Called after each acknowledged telemetry batch (latency measurement, tests). */
  readonly onAck?: (first: number, last: number) => void;
  /** Called after each acknowledged non-telemetry message (reports, command acknowledgements). */
  readonly onMessageAck?: (channel: string) => void;
  /**
   * Seals each payload for the fleet backend just before it is published (agent/src/seal.ts): a resend is sealed
   * again under a new nonce, and the backend's dedup on (device, stream, seq) and message ids catches replays.
   */
  readonly seal?: (topic: string, payload: Uint8Array) => Buffer;
}

export interface Sender {
  attach(client: MqttClient): void;
  detach(): void;
  /** New data in the outbox: try to send now. */
  kick(): void;
  /**
   * For a clean stop: starts no new publish and waits (at most `timeoutMs`) until every publish in flight is
   * acknowledged, so what the broker has stored is deleted from the outbox before the agent exits.
   */
  quiesce(timeoutMs: number): Promise<void>;
  readonly inflight: number;
}

export function createSender(opts: SenderOptions): Sender {
  const now = opts.now ?? Date.now;
  const maxInflight = opts.maxInflight ?? 8;
  const burst = Math.max(1, opts.messagesPerSecond);
  const telemetryTopic = deviceTopic(opts.deviceId, 'telemetry');
  let client: MqttClient | undefined;
  let generation = 0;
  let sampleCursor = 0;
  let messageCursor = 0;
  let inflight = 0;
  let tokens = burst;
  let refilledAt = now();
  let timer: NodeJS.Timeout | undefined;
  let quiescing = false;
  let settled: (() => void) | undefined;

  function refill(): void {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - refilledAt) / 1000) * opts.messagesPerSecond);
    refilledAt = t;
  }

  function schedule(ms: number): void {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      pump();
    }, ms);
    timer.unref?.();
  }

  /** `onAck` deletes what the broker stored; it returns false when that failed (the state folder is full). */
  function publish(topic: string, payload: Buffer, onAck: () => boolean): void {
    const c = client!;
    const gen = generation;
    if (opts.seal) payload = opts.seal(topic, payload);
    inflight++;
    tokens--;
    c.publish(topic, payload, { qos: 1 }, (err) => {
      if (gen !== generation) return; // a callback from a connection that is gone
      inflight--;
      if (err) opts.log.debug('publish not acknowledged', { error: err.message });
      const deleted = !err && onAck();
      if (inflight === 0) settled?.();
      // After a failed deletion, wait for the next kick (a sample stored again) rather than resend at once.
      if (deleted) pump();
    });
  }

  /**
   * Runs an outbox deletion after a PUBACK. If it fails (a full disk), the item stays in the outbox and the
   * cursor goes back before it, so it is sent again, and deleted then, once the outbox can be written.
   */
  function deleteAcked(what: string, remove: () => void, rewind: () => void): boolean {
    try {
      remove();
      return true;
    } catch (err) {
      rewind();
      opts.log.warn(`acknowledged ${what} could not be deleted from the outbox; it will be sent again`, {
        error: err as Error,
      });
      return false;
    }
  }

  function pump(): void {
    if (!client || quiescing) return;
    refill();
    while (client && inflight < maxInflight) {
      if (tokens < 1) {
        schedule(Math.ceil(((1 - tokens) / opts.messagesPerSecond) * 1000));
        return;
      }
      // Reports and command acknowledgements first: they are few and time-sensitive.
      const [msg] = opts.outbox.messagesAfter(messageCursor, 1);
      if (msg) {
        messageCursor = msg.id;
        publish(deviceTopic(opts.deviceId, msg.channel), Buffer.from(msg.payload), () => {
          const deleted = deleteAcked(
            `message ${msg.id}`,
            () => opts.outbox.ackMessage(msg.id),
            () => (messageCursor = Math.min(messageCursor, msg.id - 1)),
          );
          if (deleted) opts.onMessageAck?.(msg.channel);
          return deleted;
        });
        continue;
      }
      const samples = opts.outbox.samplesAfter(sampleCursor, opts.maxBatch);
      if (samples.length === 0) return;
      const first = samples[0]!.seq;
      const last = samples.at(-1)!.seq;
      sampleCursor = last;
      const stats = opts.outbox.stats();
      const message: TelemetryMessage = {
        v: 1,
        // Deterministic: a resend of the same samples carries the same id.
        id: `${stats.stream}-${first}-${last}`,
        ts: now(),
        stream: stats.stream,
        samples,
        ...(stats.dropped > 0 ? { dropped: stats.dropped } : {}),
      };
      publish(telemetryTopic, encode(message), () => {
        const deleted = deleteAcked(
          `samples ${first}-${last}`,
          () => opts.outbox.ackSamples(first, last),
          () => (sampleCursor = Math.min(sampleCursor, first - 1)),
        );
        if (deleted) opts.onAck?.(first, last);
        return deleted;
      });
    }
  }

  return {
    attach(c) {
      generation++;
      client = c;
      inflight = 0;
      sampleCursor = 0;
      messageCursor = 0;
      pump();
    },
    detach() {
      generation++;
      client = undefined;
      inflight = 0;
      clearTimeout(timer);
      timer = undefined;
      settled?.();
    },
    kick: () => pump(),
    quiesce(timeoutMs) {
      quiescing = true;
      clearTimeout(timer);
      timer = undefined;
      if (inflight === 0 || !client) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const t = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(t);
          settled = undefined;
          resolve();
        }
        settled = done;
      });
    },
    get inflight() {
      return inflight;
    },
  };
}
