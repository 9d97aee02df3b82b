// Logging: JSON lines for machines (the default) or readable lines for people; secrets are redacted.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are never written out. */
const SECRET = /(^|_|-)(key|password|passwd|secret|token|authorization|privatekey|private_key|cookie)$/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: Level;
  format?: 'json' | 'pretty';
  write?: (line: string) => void;
  base?: Record<string, unknown>;
  now?: () => Date;
}

export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET.test(k) && v !== undefined && v !== null && typeof v !== 'boolean') out[k] = '[redacted]';
    else if (v instanceof Error)
      out[k] = { message: v.message, ...('code' in v ? { code: (v as { code: unknown }).code } : {}) };
    else out[k] = v;
  }
  return out;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const min = LEVELS[opts.level ?? (process.env.EDGEWARD_LOG_LEVEL as Level | undefined) ?? 'info'] ?? LEVELS.info;
  const format = opts.format ?? (process.env.EDGEWARD_LOG_FORMAT === 'pretty' ? 'pretty' : 'json');
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const now = opts.now ?? (() => new Date());
  const base = opts.base ?? {};

  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < min) return;
    const rec = redact({ ...base, ...fields });
    if (format === 'json') {
      write(`${JSON.stringify({ time: now().toISOString(), level, msg, ...rec })}\n`);
    } else {
      const extra = Object.entries(rec)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      write(
        `${now().toISOString().slice(11, 19)} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? `  ${extra}` : ''}\n`,
      );
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...opts, base: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, simulator devices). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
