// fleet token create: a short-lived, scoped API token, for scripts and curl (export EDGEWARD_TOKEN=…).
import {
  isValidDeviceId,
  parseCli,
  parseDuration,
  readRegularText,
  required,
  UsageError,
  dispatch,
} from '../../../shared/src/index.js';
import { createApiClient } from '../admin/api-client.js';
import { DEFAULT_TOKEN_TTL_MS, MAX_TOKEN_DEVICES, MAX_TOKEN_TTL_MS } from '../api/access-tokens.js';
import { ALL_SCOPES, isScope } from '../api/roles.js';

const HELP = `fleet token create --server URL --ca FILE --credential FILE
                   [--scope S …] [--device ID …] [--ttl 15m] [--json]

Proves possession of the operator credential to the fleet server (a signed assertion that lives a minute and
works once; the key itself never travels) and prints a token for "Authorization: Bearer …". The token lives
--ttl (default 15m, at most 1h), carries at most the scopes of the operator's role (--scope narrows them;
repeat it), and with --device only reaches those devices (repeat it, at most ${MAX_TOKEN_DEVICES}).

  --json   print {"token": …, "expiresAt": …, "scopes": […], "devices": […] | null}

Scopes: ${ALL_SCOPES.join(', ')}`;

export function tokenCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { create }, HELP);
}

async function create(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    {
      server: { type: 'string' },
      ca: { type: 'string' },
      credential: { type: 'string' },
      scope: { type: 'string', multiple: true },
      device: { type: 'string', multiple: true },
      ttl: { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  const scopes = values.scope ?? [];
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length) throw new UsageError(`unknown scope ${unknown.join(', ')}; scopes: ${ALL_SCOPES.join(', ')}`);
  const devices = values.device ?? [];
  const bad = devices.find((d) => !isValidDeviceId(d));
  if (bad !== undefined) throw new UsageError(`--device ${JSON.stringify(bad)} is not a device id`);
  if (devices.length > MAX_TOKEN_DEVICES) throw new UsageError(`at most ${MAX_TOKEN_DEVICES} --device`);
  const ttl = values.ttl === undefined ? DEFAULT_TOKEN_TTL_MS : parseDuration(values.ttl, '--ttl');
  if (ttl < 1000 || ttl > MAX_TOKEN_TTL_MS) throw new UsageError('--ttl must be between 1s and 1h');
  const client = createApiClient({
    server: required(values.server, '--server'),
    ca: readRegularText(required(values.ca, '--ca'), { maxBytes: 64 * 1024 }),
    credential: readRegularText(required(values.credential, '--credential'), { maxBytes: 16 * 1024 }),
  });
  try {
    const t = await client.obtainToken({
      ...(scopes.length ? { scopes } : {}),
      ...(devices.length ? { devices } : {}),
      ttlSeconds: Math.round(ttl / 1000),
    });
    const out = { token: t.token, expiresAt: t.expiresAt, scopes: t.scopes, devices: t.devices };
    if (values.json) process.stdout.write(`${JSON.stringify(out)}\n`);
    else {
      process.stdout.write(`${t.token}\n`);
      process.stderr.write(`token for ${t.operator} (${t.role}), until ${t.expiresAt}: ${t.scopes.join(' ')}\n`);
    }
    return 0;
  } finally {
    client.close();
  }
}
