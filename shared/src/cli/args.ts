// Command-line parsing on node:util parseArgs: strict options, --help, usage errors with exit code 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EdgewardError } from '../errors.js';
import { assertDeviceId } from '../topics.js';

/** Wrong flags, missing arguments or bad values on the command line: exit code 2. */
export class UsageError extends EdgewardError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<O extends OptionSpec> {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'];
  positionals: string[];
}

/**
 * `--port -1` reads as an option followed by a flag to parseArgs ("argument is ambiguous"). A string option followed
 * by something that looks like a negative number takes it as its value, so the option's own check can say what is
 * wrong with it.
 */
function joinNegativeValues(argv: readonly string[], options: OptionSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * Parses argv strictly (unknown flags are usage errors). When --help/-h is present, prints `help`
 * and exits 0 before any validation.
 */
export function parseCli<O extends OptionSpec>(argv: string[], options: O, help: string): Parsed<O> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    process.exit(0);
  }
  try {
    const args = joinNegativeValues(argv, options);
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values, positionals } as Parsed<O>;
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}\n\n${help}`);
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses durations such as 500ms, 20s, 5m, 1h, 90d (a bare number means seconds). */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(String(text).trim());
  if (!m)
    throw new UsageError(
      `invalid ${what} ${JSON.stringify(text)}: use a number with ms, s, m, h or d (e.g. 20s, 1h, 90d)`,
    );
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!);
}

/** "95%" (or "95", or "0.95" written as a fraction below 1 is NOT accepted: say 95%) → 0.95. */
export function parsePercent(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(String(text).trim());
  const v = m ? Number(m[1]) : Number.NaN;
  if (!(v >= 0 && v <= 100))
    throw new UsageError(`${what} must be a percentage from 0% to 100%, got ${JSON.stringify(text)}`);
  return v / 100;
}

/** "1%,10%,50%,100%" → [1, 10, 50, 100] (percent): rising, above 0, ending at 100. */
export function parseStages(text: string, what = '--stages'): number[] {
  const parts = String(text)
    .split(',')
    .map((p) => p.trim());
  const stages = parts.map((p) => parsePercent(p, what) * 100);
  if (stages.length > 20 || stages.some((p, i) => p <= 0 || (i > 0 && p <= stages[i - 1]!)) || stages.at(-1) !== 100) {
    throw new UsageError(`${what} must rise from above 0% to 100% (at most 20 stages), got ${JSON.stringify(text)}`);
  }
  return stages;
}

/** Parses a positive integer option. */
export function parsePositiveInt(text: string | undefined, what: string, fallback?: number, max?: number): number {
  if (text === undefined) {
    if (fallback === undefined) throw new UsageError(`${what} is required`);
    return fallback;
  }
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${what} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  const n = Number(text);
  if (max !== undefined && n > max) throw new UsageError(`${what} is at most ${max}, got ${n}`);
  return n;
}

/** A device id given on the command line; a usage error (prefixed with `what`, if given) when it is not one. */
export function deviceIdArg(text: string, what?: string): string {
  try {
    return assertDeviceId(text);
  } catch (err) {
    throw new UsageError(`${what ? `${what}: ` : ''}${(err as Error).message}`);
  }
}

/** Parses a TCP port option: 1–65535 (0, "any free port", only when `allowZero`). */
export function parsePort(text: string | undefined, what: string, fallback: number, allowZero = false): number {
  if (text === undefined) return fallback;
  const min = allowZero ? 0 : 1;
  if (!/^\d{1,5}$/.test(text) || Number(text) < min || Number(text) > 65535) {
    throw new UsageError(`${what} must be a port number from ${min} to 65535, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** Requires an option to be present. */
export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required (see --help)`);
  return value;
}

export type Subcommand = (argv: string[]) => Promise<number>;

/**
 * Runs the subcommand named by argv[0]. No name prints `help` and exits 2; --help/-h/help print it and exit 0;
 * an unknown name is a usage error.
 */
export async function dispatch(
  argv: string[],
  commands: Readonly<Record<string, Subcommand>>,
  help: string,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help.endsWith('\n') ? help : `${help}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}\n\n${help}`);
  return command(rest);
}
