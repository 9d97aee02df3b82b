// The one command registry: name → capability, physical or not, parameter schema, and any stateful rule.
// Both the sender (`fleet cmd send`, before signing) and the device (before executing) validate against it.
import type { Issue, Schema } from '../schema.js';
import { paramsSchema, type ParamFields } from './params.js';

/** What a device must be able to do for a command to make sense there. */
export const CAPABILITIES = ['power', 'telemetry', 'relay', 'thermostat', 'scan'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** What the device knows about itself when a stateful rule is evaluated (on the device only). */
export interface DeviceState {
  /** The thermostat setpoint now in force, in °C (undefined when the device has none). */
  readonly setpointC?: number;
  readonly telemetryIntervalSeconds?: number;
}

export interface CommandSpec<P = Record<string, unknown>> {
  readonly name: string;
  readonly description: string;
  readonly capability: Capability;
  /** True when the command moves or switches something in the physical world. */
  readonly physical: boolean;
  readonly fields: ParamFields;
  readonly params: Schema<P>;
  /**
   * A rule that needs the device's own state, evaluated on the device after the schema passed; returns the
   * problems found ([] when the command may run). Senders cannot evaluate it: they do not know the state.
   */
  readonly check?: (params: P, state: DeviceState) => Issue[];
}

function define<P>(spec: Omit<CommandSpec<P>, 'params'>): CommandSpec<P> {
  return Object.freeze({ ...spec, params: paramsSchema<P>(spec.fields) });
}

export type RebootParams = Record<string, never>;
export interface TelemetryIntervalParams {
  readonly seconds: number;
}
export interface RelayParams {
  readonly channel: number;
  readonly state: 'on' | 'off';
}
export interface SetpointParams {
  readonly celsius: number;
}
export type ScanNowParams = Record<string, never>;

/** Largest setpoint change one command may make, in °C. */
export const MAX_SETPOINT_STEP_C = 2;

export const COMMANDS = Object.freeze({
  reboot: define<RebootParams>({
    name: 'reboot',
    description: 'Reboot the gateway (after its acknowledgement is stored).',
    capability: 'power',
    physical: true,
    fields: {},
  }),
  'set-telemetry-interval': define<TelemetryIntervalParams>({
    name: 'set-telemetry-interval',
    description: 'Change the telemetry sampling interval; persisted across restarts.',
    capability: 'telemetry',
    physical: false,
    fields: { seconds: { type: 'integer', min: 5, max: 3600, unit: 's', description: 'seconds between samples' } },
  }),
  'set-relay': define<RelayParams>({
    name: 'set-relay',
    description: 'Switch one relay channel on or off.',
    capability: 'relay',
    physical: true,
    fields: {
      channel: { type: 'integer', min: 0, max: 7, description: 'relay channel' },
      state: { type: 'enum', values: ['on', 'off'], description: 'new state of the relay' },
    },
  }),
  'set-setpoint': define<SetpointParams>({
    name: 'set-setpoint',
    description: `Set the thermostat setpoint; at most ${MAX_SETPOINT_STEP_C} °C from the current one per command.`,
    capability: 'thermostat',
    physical: true,
    fields: { celsius: { type: 'number', min: 5, max: 30, unit: '°C', description: 'new setpoint' } },
    check(params, state) {
      if (state.setpointC === undefined)
        return [
          {
            path: 'params.celsius',
            message: 'the current setpoint is unknown, so the size of the change cannot be checked',
          },
        ];
      const step = Math.abs(params.celsius - state.setpointC);
      // A tiny epsilon: 20.1 → 22.1 is 2.0000000000000018 in binary floating point.
      if (step > MAX_SETPOINT_STEP_C + 1e-9) {
        return [
          {
            path: 'params.celsius',
            message:
              `${params.celsius} °C is ${Math.round(step * 100) / 100} °C from the current ` +
              `${state.setpointC} °C; at most ${MAX_SETPOINT_STEP_C} °C per command`,
          },
        ];
      }
      return [];
    },
  }),
  'scan-now': define<ScanNowParams>({
    name: 'scan-now',
    description: 'Run the exposure scan now and publish its report on the exposure channel.',
    capability: 'scan',
    physical: false,
    fields: {},
  }),
});

export type CommandName = keyof typeof COMMANDS;
export const COMMAND_NAMES = Object.freeze(Object.keys(COMMANDS) as CommandName[]);

/** Command names are lower-case words joined by '-', as in the registry. */
export const COMMAND_NAME_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;

export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && Object.hasOwn(COMMANDS, name);
}

/** The registry entry, typed loosely for code that dispatches on a runtime name. */
export function commandSpec(name: string): CommandSpec | undefined {
  return isCommandName(name) ? (COMMANDS[name] as unknown as CommandSpec) : undefined;
}
