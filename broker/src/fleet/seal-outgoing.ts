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
import type { Db } from '../db/open.js';
import { createDeviceKeyStore } from './seal-keys.js';

export type OutgoingSealer = (topic: string, payload: Buffer) => Buffer;

/** Channels by device and key id (one X25519 each). Bounded; cleared when full. */
const MAX_CACHED = 100_000;

export function createOutgoingSealer(db: Db, backend: SealKeyPair): OutgoingSealer {
  const keys = createDeviceKeyStore(db);
  const cache = new Map<string, SealChannel>();
  return (topic, payload) => {
    const parsed = tryParseTopic(topic);
    if (!parsed || (parsed.channel !== 'cmd' && parsed.channel !== 'update')) return payload;
    // Looked up each time (a command is rare): a key registered or rotated a moment ago is used at once.
    const key = keys.current(parsed.deviceId);
    if (!key) return payload;
    const id = `${parsed.deviceId}/${Buffer.from(key.kid).toString('hex')}`;
    let ch = cache.get(id);
    if (!ch) {
      if (cache.size >= MAX_CACHED) cache.clear();
      ch = sealChannel(backend, key.publicKey);
      cache.set(id, ch);
    }
    return sealMessage(ch, topic, payload);
  };
}
