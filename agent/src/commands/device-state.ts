// What the device remembers about itself for commands: the setpoint in force and the telemetry interval,
// persisted in the state store so a restart keeps what operators set.
import type { DeviceState } from '../../../shared/src/commands/index.js';
import type { OutboxStore } from '../outbox/index.js';

export interface DeviceStateStore {
  read(): DeviceState;
  update(patch: { setpointC?: number; telemetryIntervalSeconds?: number }): void;
}

const KEYS = ['setpointC', 'telemetryIntervalSeconds'] as const;

export function createDeviceStateStore(
  store: Pick<OutboxStore, 'getState' | 'setState'>,
  defaults: DeviceState,
): DeviceStateStore {
  return {
    read() {
      const out: { setpointC?: number; telemetryIntervalSeconds?: number } = { ...defaults };
      for (const k of KEYS) {
        const v = Number(store.getState(k));
        if (store.getState(k) !== undefined && Number.isFinite(v)) out[k] = v;
      }
      return out;
    },
    update(patch) {
      for (const k of KEYS) {
        const v = patch[k];
        if (v !== undefined) store.setState(k, String(v));
      }
    },
  };
}
