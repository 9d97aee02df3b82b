// Agent configuration: one JSON file, validated once with every problem listed, unknown keys refused, then frozen.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { DEVICE_ID_PATTERN, schema as s, type schema } from '../../shared/src/index.js';
import { AgentError } from './errors.js';

const path = () => s.str({ minLength: 1, maxLength: 4096 });

export const agentConfigSchema = s.object({
  /** mqtts://host:port of the fleet server. Plain mqtt:// is refused: devices only speak TLS. */
  server: s.str({ pattern: /^mqtts:\/\/[^\s/:]+(:\d{1,5})?\/?$/, maxLength: 300 }),
  deviceId: s.str({ pattern: DEVICE_ID_PATTERN, maxLength: 64 }),
  cert: path(),
  key: path(),
  ca: path(),
  stateDir: path(),
  telemetryIntervalSeconds: s.withDefault(s.int({ min: 1, max: 3600 }), 10),
  outbox: s.withDefault(
    s.object({
      /** Most samples kept while offline; past it the oldest are dropped (and the drop is reported). */
      maxSamples: s.withDefault(s.int({ min: 10, max: 10_000_000 }), 100_000),
      /** Messages per second while draining a backlog, so a fleet coming back does not flood the server. */
      drainMessagesPerSecond: s.withDefault(s.num({ min: 0.1, max: 1000 }), 20),
      /** Samples per telemetry message while draining. */
      maxBatch: s.withDefault(s.int({ min: 1, max: 500 }), 100),
    }),
    { maxSamples: 100_000, drainMessagesPerSecond: 20, maxBatch: 100 },
  ),
  reconnect: s.withDefault(
    s.object({
      minSeconds: s.withDefault(s.num({ min: 0.1, max: 3600 }), 1),
      maxSeconds: s.withDefault(s.num({ min: 1, max: 86_400 }), 120),
    }),
    { minSeconds: 1, maxSeconds: 120 },
  ),
  log: s.withDefault(
    s.object({
      level: s.withDefault(s.oneOf(['debug', 'info', 'warn', 'error'] as const), 'info'),
      format: s.withDefault(s.oneOf(['json', 'pretty'] as const), 'json'),
    }),
    { level: 'info', format: 'json' },
  ),
});

export type AgentConfig = schema.Infer<typeof agentConfigSchema>;

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/** Validates a parsed config object; relative paths are resolved against `baseDir`. */
export function parseAgentConfig(raw: unknown, baseDir = process.cwd()): AgentConfig {
  const result = s.validate(agentConfigSchema, raw);
  const issues = result.ok ? [] : [...result.issues];
  if (result.ok && result.value.reconnect.minSeconds > result.value.reconnect.maxSeconds) {
    issues.push({ path: 'reconnect.minSeconds', message: 'must not exceed reconnect.maxSeconds' });
  }
  if (!result.ok || issues.length > 0) {
    throw new AgentError('AGENT_CONFIG_INVALID', `invalid agent configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`, {
      details: { issues },
    });
  }
  const c = result.value;
  // Environment variables override paths only (never behaviour), for packaging and containers.
  const env = process.env;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  return deepFreeze({
    ...c,
    cert: abs(env.EDGEWARD_CERT ?? c.cert),
    key: abs(env.EDGEWARD_KEY ?? c.key),
    ca: abs(env.EDGEWARD_CA ?? c.ca),
    stateDir: abs(env.EDGEWARD_STATE_DIR ?? c.stateDir),
  });
}

export function loadAgentConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AgentError('AGENT_CONFIG_UNREADABLE', `cannot read config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  if (text.length > 1_000_000) throw new AgentError('AGENT_CONFIG_UNREADABLE', `config ${file} is larger than 1 MB`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AgentError('AGENT_CONFIG_UNREADABLE', `config ${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseAgentConfig(raw, dirname(resolve(file)));
}
