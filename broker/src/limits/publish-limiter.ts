// Per-device publish limits: message and byte token buckets, and a bound on publishes awaiting PUBACK.
// A device over its rate is throttled (its PUBACKs are delayed, which slows any well-behaved MQTT client);
// one whose backlog keeps growing past the disconnect threshold is cut off.
import type { RateLimit } from '../config.js';
import { TokenBucket } from './token-bucket.js';

export type Admission =
  | { readonly action: 'pass' }
  | { readonly action: 'delay'; readonly ms: number }
  | { readonly action: 'disconnect'; readonly reason: 'rate' | 'inflight' };

interface DeviceState {
  messages: TokenBucket;
  bytes: TokenBucket;
  inflight: number;
  throttled: boolean;
}

export type PublishLimiter = ReturnType<typeof createPublishLimiter>;

export function createPublishLimiter(opts: { maxInflight: number; now?: () => number }) {
  const now = opts.now ?? Date.now;
  const devices = new Map<string, DeviceState>();
  return {
    /** Called for every publish before it is processed; `done` must be called when its PUBACK is due. */
    admit(deviceId: string, limit: RateLimit, bytes: number): Admission {
      const t = now();
      let d = devices.get(deviceId);
      if (!d) {
        d = {
          messages: new TokenBucket(limit.messagesPerSecond, limit.burstMessages, t),
          bytes: new TokenBucket(limit.bytesPerSecond, limit.burstBytes, t),
          inflight: 0,
          throttled: false,
        };
        devices.set(deviceId, d);
      }
      if (d.inflight >= opts.maxInflight) return { action: 'disconnect', reason: 'inflight' };
      const wait = Math.max(d.messages.take(1, t), d.bytes.take(bytes, t));
      d.inflight++;
      if (wait === 0) {
        d.throttled = false;
        return { action: 'pass' };
      }
      if (wait > limit.disconnectAfterSeconds * 1000) return { action: 'disconnect', reason: 'rate' };
      return { action: 'delay', ms: wait };
    },
    /** The publish admitted earlier has been answered. */
    release(deviceId: string): void {
      const d = devices.get(deviceId);
      if (d && d.inflight > 0) d.inflight--;
    },
    /** Marks the device throttled; returns true the first time of an episode (to log it once). */
    markThrottled(deviceId: string): boolean {
      const d = devices.get(deviceId);
      if (!d || d.throttled) return false;
      d.throttled = true;
      return true;
    },
    /**
     * Forget a device whose session ended (its buckets restart full on reconnect, which the connection limit bounds).
     */
    forget(deviceId: string): void {
      devices.delete(deviceId);
    },
  };
}
