// Keys and documents for one simulator run, made fresh each time and never written to disk: the operator key
// whose commands the virtual devices trust, and the firmware trust (root + release key) they verify bundles with.
import { generateKeyPair, publicKeyToPem, type Ed25519KeyPair } from '../../../shared/src/crypto/index.js';
import { createBundle, createTrust } from '../../../firmware-tools/src/index.js';
import { SIM_HARDWARE, SIM_INSTALLED_SEQUENCE } from '../firmware-gate.js';

export interface RunMaterials {
  readonly operator: Ed25519KeyPair;
  readonly operatorPem: string;
  readonly firmwareRoot: Ed25519KeyPair;
  readonly firmwareRelease: Ed25519KeyPair;
  readonly trustDocument: Uint8Array;
}

export function createRunMaterials(now = Date.now()): RunMaterials {
  const operator = generateKeyPair();
  const firmwareRoot = generateKeyPair();
  const firmwareRelease = generateKeyPair();
  return {
    operator,
    operatorPem: publicKeyToPem(operator.publicKey),
    firmwareRoot,
    firmwareRelease,
    trustDocument: createTrust({ rootSigners: [firmwareRoot], releaseKeys: [firmwareRelease.publicKey], now }),
  };
}

export type FirmwareAttack = 'forged-firmware' | 'downgraded-firmware' | 'tampered-firmware';

/** What the device gate must answer to each bad bundle. */
export const FIRMWARE_EXPECTED: Readonly<Record<FirmwareAttack, readonly string[]>> = {
  // Signed by a key the trust document does not list.
  'forged-firmware': ['FW_UNKNOWN_KEY', 'FW_SIG_INVALID', 'FW_THRESHOLD'],
  // Properly signed, but older than what is installed.
  'downgraded-firmware': ['FW_ROLLBACK'],
  // Properly signed manifest, payload changed after signing.
  'tampered-firmware': ['FW_PAYLOAD_DIGEST'],
};

/** A bundle an attacker could produce for each attack; small payloads (the gate's checks do not depend on size). */
export function badBundle(kind: FirmwareAttack, m: RunMaterials, now = Date.now()): Uint8Array {
  const payload = new Uint8Array(4096).map((_, i) => (i * 31 + 7) & 0xff);
  const spec = { hardware: SIM_HARDWARE, version: '9.9.9', sequence: SIM_INSTALLED_SEQUENCE + 1, now };
  switch (kind) {
    case 'forged-firmware':
      return createBundle(spec, payload, [generateKeyPair()]);
    case 'downgraded-firmware':
      return createBundle({ ...spec, version: '0.9.0', sequence: SIM_INSTALLED_SEQUENCE - 1 }, payload, [
        m.firmwareRelease,
      ]);
    case 'tampered-firmware': {
      const b = Buffer.from(createBundle(spec, payload, [m.firmwareRelease]));
      b[b.length - 1] = b[b.length - 1]! ^ 0xff;
      return b;
    }
  }
}

/** A bundle the gate must accept (the control case: the gate is not simply refusing everything). */
export function goodBundle(m: RunMaterials, now = Date.now()): Uint8Array {
  return createBundle(
    { hardware: SIM_HARDWARE, version: '1.0.1', sequence: SIM_INSTALLED_SEQUENCE + 1, now },
    new Uint8Array(1024),
    [m.firmwareRelease],
  );
}
