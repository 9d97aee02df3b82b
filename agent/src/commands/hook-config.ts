// Script hooks in the agent config: a program and its arguments (no shell), with {placeholders} that are
// replaced by already-validated command parameters. Used by the Linux platform to act on the world.
import { schema as s, type schema } from '../../../shared/src/index.js';

/** The placeholders each hook may use; anything else in braces is a config error. */
export const HOOK_PLACEHOLDERS = {
  reboot: [],
  setRelay: ['channel', 'state', 'on'],
  setSetpoint: ['celsius'],
} as const satisfies Record<string, readonly string[]>;
export type HookName = keyof typeof HOOK_PLACEHOLDERS;

const PROGRAM = /^(\/[^\0\s]{1,4095}|[A-Za-z0-9_.+-]{1,255})$/;
const PLACEHOLDER = /\{([^{}]*)\}/g;

/** A hook is "program arg …" (split on spaces) or ["program", "arg", …]; the program is absolute or on PATH. */
export function hookSchema(name: HookName): schema.Schema<string[]> {
  const allowed: ReadonlySet<string> = new Set(HOOK_PLACEHOLDERS[name]);
  return {
    describe: `command line (${allowed.size ? [...allowed].map((p) => `{${p}}`).join(' ') : 'no placeholders'})`,
    check(v, path, issues) {
      const argv = typeof v === 'string' ? v.trim().split(/\s+/) : v;
      if (
        !Array.isArray(argv) ||
        argv.length === 0 ||
        argv.length > 32 ||
        !argv.every((a) => typeof a === 'string' && a.length > 0 && a.length <= 4096)
      ) {
        issues.push({ path, message: 'expected a command line: a string, or an array of 1 to 32 non-empty strings' });
        return [];
      }
      if (!PROGRAM.test(argv[0]!))
        issues.push({
          path,
          message:
            `the program ${JSON.stringify(argv[0]!.slice(0, 80))} must be an absolute path or a plain ` +
            `name on PATH`,
        });
      for (const arg of argv) {
        for (const m of arg.matchAll(PLACEHOLDER)) {
          if (!allowed.has(m[1]!))
            issues.push({
              path,
              message:
                `unknown placeholder {${m[1]!.slice(0, 40)}}; ${name} may use ` +
                `${[...allowed].map((p) => `{${p}}`).join(', ') || 'none'}`,
            });
        }
      }
      return argv as string[];
    },
  };
}

export const hooksConfigSchema = s.object({
  /** Reboots the gateway; null disables the reboot command. Default: systemctl reboot (see docs/install-gateway.md). */
  reboot: s.withDefault(s.nullable(hookSchema('reboot')), ['systemctl', 'reboot']),
  /** Switches a relay: e.g. "/usr/local/bin/relay {channel} {state}". Without it the device has no relay. */
  setRelay: s.optional(hookSchema('setRelay')),
  /** Sets the thermostat: e.g. "/usr/local/bin/thermostat {celsius}". Without it the device has no thermostat. */
  setSetpoint: s.optional(hookSchema('setSetpoint')),
});

export type HooksConfig = schema.Infer<typeof hooksConfigSchema>;

/** Replaces {name} in each argument by its value; values are validated parameters, never raw input. */
export function expandHook(argv: readonly string[], values: Readonly<Record<string, string>>): string[] {
  return argv.map((arg) =>
    arg.replace(PLACEHOLDER, (whole, key: string) => (Object.hasOwn(values, key) ? values[key]! : whole)),
  );
}
