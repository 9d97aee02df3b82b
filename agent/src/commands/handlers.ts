// Runs an authorized command through the injected actions: one switch over the registry's names; the default
// branch refuses a name the registry gained without a handler here.
import type {
  Capability,
  CommandName,
  RelayParams,
  SetpointParams,
  TelemetryIntervalParams,
} from '../../../shared/src/commands/index.js';
import type { DeviceStateStore } from './device-state.js';

/** What commands act through: the platform's actuators, the sampler and the scanner, bound by the agent. */
export interface CommandActions {
  readonly reboot?: () => Promise<void>;
  readonly setRelay?: (channel: number, on: boolean) => Promise<void>;
  readonly setSetpoint?: (celsius: number) => Promise<void>;
  readonly setTelemetryInterval: (seconds: number) => void;
  /** Runs a scan and queues its report on the exposure channel. */
  readonly scanNow?: () => Promise<void>;
}

export function capabilitiesOf(actions: CommandActions): ReadonlySet<Capability> {
  const caps = new Set<Capability>(['telemetry']);
  if (actions.reboot) caps.add('power');
  if (actions.setRelay) caps.add('relay');
  if (actions.setSetpoint) caps.add('thermostat');
  if (actions.scanNow) caps.add('scan');
  return caps;
}

/** Runs the command; throws when the action fails. Capabilities were checked before, so actions exist. */
export async function runCommand(
  command: CommandName,
  params: Record<string, unknown>,
  actions: CommandActions,
  state: DeviceStateStore,
): Promise<void> {
  switch (command) {
    case 'reboot':
      return actions.reboot!();
    case 'set-telemetry-interval': {
      const { seconds } = params as unknown as TelemetryIntervalParams;
      state.update({ telemetryIntervalSeconds: seconds });
      return actions.setTelemetryInterval(seconds);
    }
    case 'set-relay': {
      const { channel, state: s } = params as unknown as RelayParams;
      return actions.setRelay!(channel, s === 'on');
    }
    case 'set-setpoint': {
      const { celsius } = params as unknown as SetpointParams;
      await actions.setSetpoint!(celsius);
      state.update({ setpointC: celsius });
      return;
    }
    case 'scan-now':
      return actions.scanNow!();
    default: {
      const unknown: never = command;
      throw new TypeError(`no handler for command ${String(unknown)}`);
    }
  }
}
