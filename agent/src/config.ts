// Agent configuration: one JSON file, validated once with every problem listed, unknown keys refused, then frozen.
import { dirname, isAbsolute, resolve } from 'node:path';
import { DEVICE_ID_PATTERN, isInside, readRegularText, schema as s, type schema } from '../../shared/src/index.js';
import { hookSchema, hooksConfigSchema } from './commands/hook-config.js';
import { checkOperator, operatorConfigSchema, operatorKid, resolveOperatorPem } from './commands/keyring.js';
import { AgentError } from './errors.js';

const path = () => s.str({ minLength: 1, maxLength: 4096 });
const MAX_CONFIG_BYTES = 1_000_000;

const operatorsSchema = s.withDefault(s.array(operatorConfigSchema, { maxItems: 32 }), []);

/** mqtts://host:port. Plain mqtt:// is refused: devices only speak TLS. */
const serverUrl = s.str({ pattern: /^mqtts:\/\/[^\s/:]+(:\d{1,5})?\/?$/, maxLength: 300 });
const serverUrls = s.array(serverUrl, { minItems: 1, maxItems: 16 });
/** One server, or a cluster's nodes for a site without a load balancer (each entry checked, each listed once). */
const serverSchema: schema.Schema<string | string[]> = {
  describe: `${serverUrl.describe}, or a list of them`,
  check(value, path, issues) {
    if (!Array.isArray(value)) return serverUrl.check(value, path, issues);
    const list = serverUrls.check(value, path, issues);
    value.forEach((v, i) => {
      if (value.indexOf(v) !== i) issues.push({ path: `${path}[${i}]`, message: 'listed twice' });
    });
    return list;
  },
};

/** The server addresses of a config, as a list. */
export function serverList(config: { readonly server: string | readonly string[] }): readonly string[] {
  return typeof config.server === 'string' ? [config.server] : config.server;
}

export const agentConfigSchema = s.object({
  /**
   * mqtts://host:port of the fleet server, or a list of a cluster's nodes: the agent picks one at random and fails
   * over to the others.
   */
  server: serverSchema,
  deviceId: s.str({ pattern: DEVICE_ID_PATTERN, maxLength: 64 }),
  cert: path(),
  key: path(),
  ca: path(),
  stateDir: path(),
  /**
   * End-to-end sealing (docs/security.md): the device's own X25519 key and the fleet backend's public key, made
   * and written by `iot-agent enroll` or `fleet device add`. `enabled: false` sends plain CBOR, for a fleet server
   * explicitly set to `sealing: "optional"`; it is never the default.
   */
  seal: s.withDefault(
    s.object({
      enabled: s.withDefault(s.bool(), true),
      key: s.withDefault(path(), 'seal.key'),
      backendKey: s.withDefault(path(), 'backend-seal.pub'),
    }),
    {},
  ),
  telemetryIntervalSeconds: s.withDefault(s.int({ min: 1, max: 3600 }), 10),
  outbox: s.withDefault(
    s.object({
      /** Most samples kept while offline; past it the oldest are dropped (and the drop is reported). */
      maxSamples: s.withDefault(s.int({ min: 10, max: 10_000_000 }), 100_000),
      /** Messages per second while draining a backlog, so a fleet coming back does not flood the server. */
      drainMessagesPerSecond: s.withDefault(s.num({ min: 0.1, max: 1000 }), 20),
      /** Samples per telemetry message while draining. */
      maxBatch: s.withDefault(s.int({ min: 1, max: 500 }), 100),
      /** Most other messages kept (exposure reports, command acknowledgements); past it the oldest are dropped. */
      maxMessages: s.withDefault(s.int({ min: 10, max: 100_000 }), 1000),
    }),
    {},
  ),
  reconnect: s.withDefault(
    s.object({
      minSeconds: s.withDefault(s.num({ min: 0.1, max: 3600 }), 1),
      maxSeconds: s.withDefault(s.num({ min: 1, max: 86_400 }), 120),
    }),
    {},
  ),
  /** Operator keys trusted to sign commands, and what each may send (docs/commands.md). */
  operators: operatorsSchema,
  commands: s.withDefault(
    s.object({
      /** Slack on the expiry check, for a device clock that runs behind or ahead. */
      clockToleranceSeconds: s.withDefault(s.int({ min: 0, max: 86_400 }), 300),
      /** A hook that runs longer is killed and the command acknowledged as failed. */
      hookTimeoutSeconds: s.withDefault(s.int({ min: 1, max: 600 }), 30),
      /** The thermostat setpoint assumed before the first set-setpoint (the ±2 °C rule needs a start). */
      initialSetpointC: s.withDefault(s.num({ min: 5, max: 30 }), 20),
      hooks: s.withDefault(hooksConfigSchema, {}),
    }),
    {},
  ),
  /** The gateway's scan of its own API exposure; reports go to the fleet on the exposure channel. */
  scan: s.withDefault(
    s.object({
      enabled: s.withDefault(s.bool(), true),
      /** Seconds between scheduled scans (one also runs at start, and on the scan-now command). */
      intervalSeconds: s.withDefault(s.int({ min: 60, max: 7 * 86_400 }), 3600),
      /** "listening" (every listening socket of this host) or a port list such as "22,80,1883,8000-8100". */
      ports: s.withDefault(s.str({ pattern: /^(listening|[0-9,\s-]{1,200})$/, maxLength: 200 }), 'listening'),
      /** The short list of default-credential tries (GET with Basic auth only). */
      credentialChecks: s.withDefault(s.bool(), true),
      /** AI-endpoint probes; "all" adds the excessive-agency requests, which ask a model to act (opt-in). */
      llmProbes: s.withDefault(s.oneOf(['none', 'safe', 'all'] as const), 'safe'),
      timeoutSeconds: s.withDefault(s.int({ min: 1, max: 600 }), 20),
    }),
    {},
  ),
  /** Firmware updates (docs/agent-config.md); off until `trust` names the fleet's trust document. */
  update: s.withDefault(
    s.object({
      /** The fleet's firmware trust document (fw trust init); without it the agent takes no offers. */
      trust: s.optional(path()),
      /** This gateway's hardware id: bundles must name it; also sent in the status message. */
      hardware: s.optional(s.str({ maxLength: 64, pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/ })),
      /** "ab": two slots in the state folder (firmware/); "script": the hooks below do the device's work. */
      installer: s.withDefault(s.oneOf(['ab', 'script'] as const), 'ab'),
      /** What a state folder without firmware/boot.json runs (ab installer). */
      initialVersion: s.withDefault(s.str({ maxLength: 64, pattern: /^[0-9A-Za-z.+_-]{1,64}$/ }), '0.0.0'),
      initialSequence: s.withDefault(s.int({ min: 0, max: Number.MAX_SAFE_INTEGER }), 0),
      /** Agent starts during one update before it is abandoned (a crash loop). */
      maxStarts: s.withDefault(s.int({ min: 1, max: 100 }), 3),
      download: s.withDefault(
        s.object({
          attempts: s.withDefault(s.int({ min: 1, max: 20 }), 6),
          /** First retry delay; each retry doubles the window (full jitter), up to 60 s. */
          baseDelaySeconds: s.withDefault(s.num({ min: 0.01, max: 600 }), 2),
        }),
        {},
      ),
      healthCheck: s.withDefault(
        s.object({
          /** Seconds from the switch for the new image to confirm itself; past them it is rolled back. */
          deadlineSeconds: s.withDefault(s.int({ min: 5, max: 86_400 }), 300),
          /** Optional program that must exit 0 for the new image to be committed. */
          hook: s.optional(hookSchema('reboot')),
        }),
        {},
      ),
      /** Installer hooks (installer "script"); docs/install-gateway.md has an example. */
      hooks: s.optional(
        s.object({
          current: hookSchema('reboot'),
          write: hookSchema('reboot'),
          finish: s.optional(hookSchema('reboot')),
          activate: hookSchema('reboot'),
          commit: hookSchema('reboot'),
          rollback: hookSchema('reboot'),
          reboot: hookSchema('reboot'),
        }),
      ),
      /** A hook (installer or health) that runs longer is killed. */
      hookTimeoutSeconds: s.withDefault(s.int({ min: 1, max: 3600 }), 600),
    }),
    {},
  ),
  /**
   * Encryption at rest of the state folder's agent.db (outbox, replay store, update record): where the storage key
   * comes from. Absent: not encrypted. docs/agent-config.md#storage.
   */
  storage: s.optional(
    s.object({
      key: s.tagged('source', {
        /** A file of 64 hex digits, mode 0600, owned by root or the agent's user, outside stateDir. */
        file: s.object({ source: s.literal('file'), path: path() }),
        /** $CREDENTIALS_DIRECTORY/<name>: a systemd credential (LoadCredential= or LoadCredentialEncrypted=). */
        'systemd-credential': s.object({
          source: s.literal('systemd-credential'),
          name: s.str({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, maxLength: 64 }),
        }),
        /** An RFC 7512 PKCS#11 URI of a secret key in a token; the storage key is derived inside it. */
        pkcs11: s.object({ source: s.literal('pkcs11'), uri: s.str({ pattern: /^pkcs11:/, maxLength: 2048 }) }),
      }),
    }),
  ),
  log: s.withDefault(
    s.object({
      level: s.withDefault(s.oneOf(['debug', 'info', 'warn', 'error'] as const), 'info'),
      format: s.withDefault(s.oneOf(['json', 'pretty'] as const), 'json'),
    }),
    {},
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
  if (result.ok && result.value.update.installer === 'script' && !result.value.update.hooks) {
    issues.push({ path: 'update.hooks', message: 'installer "script" needs its hooks' });
  }
  const storageKey = result.ok ? result.value.storage?.key : undefined;
  if (result.ok && storageKey?.source === 'file') {
    const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
    if (isInside(abs(storageKey.path), abs(process.env.EDGEWARD_STATE_DIR ?? result.value.stateDir))) {
      issues.push({ path: 'storage.key.path', message: 'must be outside stateDir, the folder it encrypts' });
    }
  }
  // Keys are checked even when other parts are wrong, so that every problem is listed at once.
  const ops = s.isPlainObject(raw) ? s.validate(operatorsSchema, raw.operators) : undefined;
  const operators = ops?.ok ? resolveOperators(ops.value, baseDir, issues) : [];
  if (!result.ok || issues.length > 0) {
    throw new AgentError('AGENT_CONFIG_INVALID', s.listIssues('agent configuration', issues), {
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
    seal: { ...c.seal, key: abs(env.EDGEWARD_SEAL_KEY ?? c.seal.key), backendKey: abs(c.seal.backendKey) },
    update: { ...c.update, ...(c.update.trust ? { trust: abs(c.update.trust) } : {}) },
    ...(c.storage
      ? {
          storage: {
            key: c.storage.key.source === 'file' ? { ...c.storage.key, path: abs(c.storage.key.path) } : c.storage.key,
          },
        }
      : {}),
    operators,
  });
}

/** Reads each operator key (inline PEM or file), checks it, and returns the entries with PEM text inline. */
function resolveOperators(
  ops: AgentConfig['operators'],
  baseDir: string,
  issues: schema.Issue[],
): AgentConfig['operators'] {
  const seen = new Map<string, string>();
  return ops.map((op, i) => {
    const path = `operators[${i}]`;
    const r = resolveOperatorPem(op.publicKey, baseDir);
    if ('problem' in r) {
      issues.push({ path: `${path}.publicKey`, message: r.problem });
      return op;
    }
    const resolved = { ...op, publicKey: r.pem };
    issues.push(...checkOperator(resolved, path));
    const kid = operatorKid(resolved);
    for (const [key, what] of [
      [`name:${op.name}`, 'name'],
      [`kid:${kid}`, 'key'],
    ] as const) {
      if (key === 'kid:undefined') continue;
      if (seen.has(key)) issues.push({ path, message: `same ${what} as ${seen.get(key)}` });
      else seen.set(key, path);
    }
    return resolved;
  });
}

/** The config file's JSON (a regular file of at most 1 MB); AGENT_CONFIG_UNREADABLE when it is not that. */
export function readConfigJson(file: string): unknown {
  let text: string;
  try {
    text = readRegularText(file, { maxBytes: MAX_CONFIG_BYTES });
  } catch (err) {
    throw new AgentError('AGENT_CONFIG_UNREADABLE', `config: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AgentError('AGENT_CONFIG_UNREADABLE', `config ${file} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export function loadAgentConfig(file: string): AgentConfig {
  return parseAgentConfig(readConfigJson(file), dirname(resolve(file)));
}
