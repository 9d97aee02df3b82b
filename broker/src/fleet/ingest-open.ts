// Opening sealed device messages, in the ingest thread (before a message is judged and stored): the envelope's
// sender key id must be an active key registered for the device whose topic it came on, its recipient the
// backend's key, and the box must authenticate for that exact topic. A refusal is a verdict, never a throw.
import {
  type Channel,
  deviceTopic,
  EdgewardError,
  isSealedEnvelope,
  openEnvelope,
  parseEnvelope,
  sealChannel,
  sealKeyPairFromSecret,
  type SealChannel,
  type SealKeyPair,
} from '../../../shared/src/index.js';
import type { Db } from '../db/open.js';
import { createDeviceKeyStore } from './seal-keys.js';

/**
 * What the ingest thread needs to open messages: the backend's X25519 secret key (loaded once by the server, so the
 * thread reads no key file: in an encrypted folder only the server holds the storage key's view) and the policy.
 */
export interface SealingInit {
  readonly secretKey: Uint8Array;
  readonly mode: 'required' | 'optional';
}

export type Opened =
  | { readonly ok: true; readonly payload: Uint8Array }
  | { readonly ok: false; readonly code: string; readonly message: string };

export interface Opener {
  open(deviceId: string, channel: Channel, payload: Uint8Array): Opened;
}

/** Channels by device and key id: one X25519 each, not one per message. Bounded; cleared when full. */
const MAX_CACHED = 100_000;

export function createOpener(db: Db, init: SealingInit): Opener {
  const backend: SealKeyPair = sealKeyPairFromSecret(init.secretKey);
  const keys = createDeviceKeyStore(db);
  const cache = new Map<string, SealChannel>();
  const refuse = (code: string, message: string): Opened => ({ ok: false, code, message });
  return {
    open(deviceId, channel, payload) {
      if (!isSealedEnvelope(payload)) {
        if (init.mode === 'optional') return { ok: true, payload };
        return refuse('SEAL_REQUIRED', 'the message is not sealed; this fleet requires sealed device messages');
      }
      try {
        const envelope = parseEnvelope(payload);
        const id = `${deviceId}/${Buffer.from(envelope.senderKid).toString('hex')}`;
        let ch = cache.get(id);
        if (!ch) {
          const publicKey = keys.find(deviceId, envelope.senderKid);
          if (!publicKey)
            return refuse(
              'SEAL_UNKNOWN_KEY',
              `sender key ${id.slice(deviceId.length + 1)} is not registered for ${deviceId}`,
            );
          if (cache.size >= MAX_CACHED) cache.clear();
          ch = sealChannel(backend, publicKey);
          cache.set(id, ch);
        }
        return { ok: true, payload: openEnvelope(ch, envelope, deviceTopic(deviceId, channel)) };
      } catch (err) {
        if (err instanceof EdgewardError) return refuse(err.code, err.message);
        throw err;
      }
    },
  };
}
