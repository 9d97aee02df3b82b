// The virtual device's firmware gate: every bundle offered to the device is verified against its trust state
// and installed sequence with the real verifier before anything could be installed. There is no OTA delivery
// channel yet, so the attack scenario offers bundles here directly; when updates exist, the update channel
// calls offer() and a rollout scenario (docs/simulator.md#firmware-rollouts) drives accepted bundles further.
import { BundleError, verifyBundle, verifyTrustDocument, type TrustState } from '../../firmware-tools/src/index.js';

export interface FirmwareGateOptions {
  /** The fleet's trust document (bytes), verified once per worker. */
  readonly trust: TrustState;
  readonly hardware: string;
  readonly installedSequence: number;
  readonly agentVersion?: string;
  readonly now?: () => number;
}

/** `accepted`, or the BundleError code that refused the bundle (FW_UNKNOWN_KEY, FW_ROLLBACK, …). */
export type FirmwareVerdict = 'accepted' | string;

export interface FirmwareGate {
  offer(bundle: Uint8Array): Promise<FirmwareVerdict>;
  readonly installedSequence: number;
}

export const SIM_HARDWARE = 'edgeward-sim-gw';
export const SIM_INSTALLED_SEQUENCE = 100;

export function loadTrust(document: Uint8Array, now = Date.now()): TrustState {
  return verifyTrustDocument(document, { now });
}

export function createFirmwareGate(opts: FirmwareGateOptions): FirmwareGate {
  const now = opts.now ?? Date.now;
  return {
    installedSequence: opts.installedSequence,
    async offer(bundle) {
      try {
        await verifyBundle(bundle, {
          trust: opts.trust,
          hardware: opts.hardware,
          installedSequence: opts.installedSequence,
          ...(opts.agentVersion ? { agentVersion: opts.agentVersion } : {}),
          now: now(),
        });
        // Installing is the update state machine's job; the simulator only records that the gate let it through.
        return 'accepted';
      } catch (err) {
        return err instanceof BundleError ? err.code : `ERROR: ${(err as Error).message}`;
      }
    },
  };
}
