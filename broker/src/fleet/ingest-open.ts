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
/** A cached key is looked up again after this long, so a key retired by another process stops opening. */
export const KEY_RECHECK_MS = 10_000;

export function createOpener(db: Db, init: SealingInit, now: () => number = Date.now): Opener {
  return createKeyOpener(createDeviceKeyStore(db), init, now);
}

/**
 * Where the opener finds a device's active keys by id, and records the key a device now seals with (the folder's
 * database; or, on a cluster node on PostgreSQL, the keys read from the store ahead of each batch).
 */
export interface DeviceKeys {
  find(deviceId: string, kid: Uint8Array): Uint8Array | undefined;
  markUsed(deviceId: string, kid: Uint8Array, at: number): void;
}

export function createKeyOpener(keys: DeviceKeys, init: SealingInit, now: () => number = Date.now): Opener {
  const backend: SealKeyPair = sealKeyPairFromSecret(init.secretKey);
  const cache = new Map<string, { ch: SealChannel; checkedAt: number }>();
  /** The key id each device last sealed with (hex), since this start. */
  const inUse = new Map<string, string>();
  const refuse = (code: string, message: string): Opened => ({ ok: false, code, message });
  return {
    open(deviceId, channel, payload) {
      if (!isSealedEnvelope(payload)) {
        if (init.mode === 'optional') return { ok: true, payload };
        return refuse('SEAL_REQUIRED', 'the message is not sealed; this fleet requires sealed device messages');
      }
      try {
        const envelope = parseEnvelope(payload);
        const kid = Buffer.from(envelope.senderKid).toString('hex');
        const id = `${deviceId}/${kid}`;
        const t = now();
        let entry = cache.get(id);
        if (!entry || t - entry.checkedAt > KEY_RECHECK_MS) {
          const publicKey = keys.find(deviceId, envelope.senderKid);
          if (!publicKey) {
            cache.delete(id);
            return refuse('SEAL_UNKNOWN_KEY', `sender key ${kid} is not registered for ${deviceId}, or is retired`);
          }
          if (cache.size >= MAX_CACHED) cache.clear();
          entry = { ch: entry?.ch ?? sealChannel(backend, publicKey), checkedAt: t };
          cache.set(id, entry);
        }
        const opened = openEnvelope(entry.ch, envelope, deviceTopic(deviceId, channel));
        // The device now seals with this key (first message since start, or it switched): seal to it from now.
        if (inUse.get(deviceId) !== kid) {
          if (inUse.size >= MAX_CACHED) inUse.clear();
          inUse.set(deviceId, kid);
          keys.markUsed(deviceId, envelope.senderKid, t);
        }
        return { ok: true, payload: opened };
      } catch (err) {
        if (err instanceof EdgewardError) return refuse(err.code, err.message);
        throw err;
      }
    },
  };
}
