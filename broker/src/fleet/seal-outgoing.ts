// Sealing what the backend sends a device (commands, update offers) for that device's newest registered key, on the
// way out. A device with no registered key (enrolled before sealing) gets the message as it is: commands are still
// signed by an operator, offers still carry a signed bundle.
import {
  type SealChannel,
  type SealKeyPair,
  sealMessage,
  sealChannel,
  tryParseTopic,
} from '../../../shared/src/index.js';
import type { DeviceSealKey } from './seal-keys.js';

export type OutgoingSealer = (topic: string, payload: Buffer) => Promise<Buffer>;

/**
 * The key the backend seals a device's messages to (the key it last switched to, else its newest): the data
 * folder's key store, or on a cluster on PostgreSQL the store's registry (every node's devices' keys).
 */
export interface SealKeySource {
  current(deviceId: string): DeviceSealKey | undefined | Promise<DeviceSealKey | undefined>;
}

/** Channels by device and key id (one X25519 each). Bounded; cleared when full. */
const MAX_CACHED = 100_000;

export function createOutgoingSealer(keys: SealKeySource, backend: SealKeyPair): OutgoingSealer {
  const cache = new Map<string, SealChannel>();
  /**
   * Each device's last sealing under way: a device's messages come out sealed in the order they went in (its
   * commands in counter order), though the store's lookups may answer out of order.
   */
  const tails = new Map<string, Promise<unknown>>();
  const seal = async (deviceId: string, topic: string, payload: Buffer) => {
    // Looked up each time (a command is rare): a key registered or rotated a moment ago is used at once.
    const key = await keys.current(deviceId);
    if (!key) return payload;
    const id = `${deviceId}/${Buffer.from(key.kid).toString('hex')}`;
    let ch = cache.get(id);
    if (!ch) {
      if (cache.size >= MAX_CACHED) cache.clear();
      ch = sealChannel(backend, key.publicKey);
      cache.set(id, ch);
    }
    return sealMessage(ch, topic, payload);
  };
  return (topic, payload) => {
    const parsed = tryParseTopic(topic);
    if (!parsed || (parsed.channel !== 'cmd' && parsed.channel !== 'update')) return Promise.resolve(payload);
    const { deviceId } = parsed;
    const sealed = (tails.get(deviceId) ?? Promise.resolve()).then(
      () => seal(deviceId, topic, payload),
      () => seal(deviceId, topic, payload),
    );
    tails.set(deviceId, sealed);
    const forget = () => {
      if (tails.get(deviceId) === sealed) tails.delete(deviceId);
    };
    sealed.then(forget, forget);
    return sealed;
  };
}
