// Firmware test kit: a root key, release keys and a trust document, and bundles signed with them, for tests of the
// update channel (releases, rollouts, the agent's update client). Keys live in memory; bundles are written to `dir`.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, type Ed25519KeyPair } from '../../shared/src/crypto/index.js';
import { createBundle, createTrust, type ReleaseSpec } from '../../firmware-tools/src/index.js';

export const KIT_HARDWARE = 'edgeward-test-gw';

export interface FirmwareKit {
  readonly root: Ed25519KeyPair;
  /** The release keys the trust document lists (threshold 1 unless asked otherwise). */
  readonly release: readonly Ed25519KeyPair[];
  /** The trust document (version 1) as bytes. */
  readonly trust: Uint8Array;
  /** Writes trust.cbor into the kit's folder and returns its path. */
  trustFile(): string;
  /**
   * Signs `payload` (random bytes of `size` when a number) and writes the bundle; returns its path, bytes and the
   * payload. `signers` defaults to the first release key.
   */
  bundle(
    spec: Partial<ReleaseSpec> & { version: string; sequence: number },
    payload: Uint8Array | number,
    opts?: { signers?: readonly Ed25519KeyPair[]; name?: string },
  ): { path: string; bytes: Uint8Array; payload: Uint8Array; id: string };
}

export function createFirmwareKit(dir: string, opts: { releaseKeys?: number; releaseThreshold?: number } = {}) {
  const root = generateKeyPair();
  const release = Array.from({ length: opts.releaseKeys ?? 1 }, () => generateKeyPair());
  const trust = createTrust({
    rootSigners: [root],
    releaseKeys: release.map((k) => k.publicKey),
    ...(opts.releaseThreshold ? { releaseThreshold: opts.releaseThreshold } : {}),
  });
  const kit: FirmwareKit = {
    root,
    release,
    trust,
    trustFile() {
      const path = join(dir, 'trust.cbor');
      writeFileSync(path, trust);
      return path;
    },
    bundle(spec, payload, o = {}) {
      const bytesOf = typeof payload === 'number' ? new Uint8Array(randomBytes(payload)) : payload;
      const bytes = createBundle({ hardware: KIT_HARDWARE, ...spec }, bytesOf, o.signers ?? [release[0]!]);
      const path = join(dir, o.name ?? `fw-${spec.version}-${spec.sequence}.ewfw`);
      writeFileSync(path, bytes);
      return { path, bytes, payload: bytesOf, id: createHash('sha256').update(bytes).digest('hex') };
    },
  };
  return kit;
}
