// Sealing keys on the backend's side: its own X25519 key pair in the data folder's pki (created by
// `fleet pki init`, or by the first `fleet serve` of an older folder), and each device's registered public keys.
import { existsSync } from 'node:fs';
import {
  generateSealKeyPair,
  EdgewardError,
  parseSealSecretKeyPem,
  readRegularText,
  readSealedText,
  sealKeyId,
  sealPublicKeyToPem,
  sealSecretKeyToPem,
  writeFileSafe,
  writeSealedSecret,
  writeSecret,
  type SealKeyPair,
  type StorageKey,
} from '../../../shared/src/index.js';
import type { Db } from '../db/open.js';
import { FleetError } from '../errors.js';

/**
 * Reads the backend's sealing key, making it (0600, with seal.pub beside it) when the folder has none yet. In a
 * folder encrypted at rest (`storageKey`) seal.key is sealed under the storage key like the other key files.
 */
// The two paths as plain strings (FleetPaths' sealKey and sealPub): importing data-dir.ts here, even for a type,
// would pull the X.509 code into the dashboard's type check through db/registry.ts.
export function ensureBackendSealKey(
  p: { readonly sealKey: string; readonly sealPub: string },
  storageKey?: StorageKey,
): SealKeyPair {
  if (!existsSync(p.sealKey)) {
    const pair = generateSealKeyPair();
    if (storageKey) writeSealedSecret(storageKey, p.sealKey, sealSecretKeyToPem(pair));
    else writeSecret(p.sealKey, sealSecretKeyToPem(pair));
    writeFileSafe(p.sealPub, sealPublicKeyToPem(pair.publicKey), { overwrite: true });
    return pair;
  }
  let pem: string;
  try {
    pem = storageKey ? readSealedText(storageKey, p.sealKey, 4096) : readRegularText(p.sealKey, { maxBytes: 4096 });
  } catch (err) {
    if (err instanceof EdgewardError && err.code.startsWith('AT_REST_')) throw err;
    throw new FleetError('FLEET_DATA_DIR', `cannot read the sealing key: ${(err as Error).message}`, { cause: err });
  }
  const pair = parseSealSecretKeyPem(pem, p.sealKey);
  // seal.pub is what is handed to devices: keep it the public half of seal.key.
  const pub = sealPublicKeyToPem(pair.publicKey);
  if (!existsSync(p.sealPub) || readRegularText(p.sealPub, { maxBytes: 4096 }) !== pub)
    writeFileSafe(p.sealPub, pub, { overwrite: true });
  return pair;
}

export interface DeviceSealKey {
  readonly kid: Uint8Array;
  readonly publicKey: Uint8Array;
}

export type DeviceKeyStore = ReturnType<typeof createDeviceKeyStore>;

export function createDeviceKeyStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO device_keys (device_id, key_id, public_key, created_at) VALUES (?, ?, ?, ?) ` +
      `ON CONFLICT (device_id, key_id) DO UPDATE SET retired_at = NULL`,
  );
  const byKid = db.prepare(
    `SELECT public_key FROM device_keys WHERE device_id = ? AND key_id = ? AND retired_at IS NULL`,
  );
  // The key the device was last seen switching to; one it never used only when it has used none (just enrolled).
  const newest = db.prepare(
    `SELECT key_id, public_key FROM device_keys WHERE device_id = ? AND retired_at IS NULL ` +
      `ORDER BY coalesce(used_at, 0) DESC, created_at DESC LIMIT 1`,
  );
  const used = db.prepare(`UPDATE device_keys SET used_at = ? WHERE device_id = ? AND key_id = ?`);
  const retireOthers = db.prepare(
    `UPDATE device_keys SET retired_at = ? WHERE device_id = ? AND key_id != ? AND retired_at IS NULL`,
  );
  const anyKey = db.prepare(`SELECT 1 FROM device_keys WHERE device_id = ? AND retired_at IS NULL LIMIT 1`);
  return {
    /** Registers (or re-activates) a device's public key; returns its key id. */
    add(deviceId: string, publicKey: Uint8Array, now = Date.now()): Uint8Array {
      const kid = sealKeyId(publicKey);
      insert.run(deviceId, kid, publicKey, now);
      return kid;
    },
    /** The active key of `deviceId` with this id, if any. */
    find(deviceId: string, kid: Uint8Array): Uint8Array | undefined {
      const row = byKid.get(deviceId, kid) as { public_key: Uint8Array } | undefined;
      return row && new Uint8Array(row.public_key);
    },
    /** The device sealed a message with this key (and had used another, or none, before): seal to it from now. */
    markUsed(deviceId: string, kid: Uint8Array, now = Date.now()): void {
      used.run(now, deviceId, kid);
    },
    /** Retires every key of the device but `keep` (fleet device renew --revoke-old); returns how many. */
    retireAllBut(deviceId: string, keep: Uint8Array, now = Date.now()): number {
      return retireOthers.run(now, deviceId, keep).changes;
    },
    /**
     * The key the backend seals to: the active key the device last switched to, else (a device that has sealed
     * nothing yet) its newest.
     */
    current(deviceId: string): DeviceSealKey | undefined {
      const row = newest.get(deviceId) as { key_id: Uint8Array; public_key: Uint8Array } | undefined;
      return row && { kid: new Uint8Array(row.key_id), publicKey: new Uint8Array(row.public_key) };
    },
    has(deviceId: string): boolean {
      return anyKey.get(deviceId) !== undefined;
    },
  };
}
