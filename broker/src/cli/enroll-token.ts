// fleet enroll-token create: one-time enrolment tokens (only their hashes are stored).
import { dispatch, parseCli, parseDuration, parsePositiveInt, UsageError } from '../../../shared/src/index.js';
import { openAdmin, TARGET_HELP, TARGET_OPTIONS } from './target.js';

const HELP = `fleet enroll-token create (--data DIR | --server URL …) [--count 1] [--ttl 1h] [--device-type default]
                          [--json]

Prints one-time enrolment tokens. A device uses one with \`iot-agent enroll --token T …\` to get its
certificate for a key it makes itself. Each token works once, expires after --ttl (at most 30 days), and
enrols a device of --device-type (whose rate limits the server config sets). Only SHA-256 hashes of the
tokens are stored: copy them now.

  --json   print {"tokens": ["…"], "expires": "ISO-8601"}

${TARGET_HELP}`;

export function enrollTokenCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { create: createTokens }, HELP);
}

async function createTokens(rest: string[]): Promise<number> {
  const { values } = parseCli(
    rest,
    {
      ...TARGET_OPTIONS,
      count: { type: 'string' },
      ttl: { type: 'string' },
      'device-type': { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  const count = parsePositiveInt(values.count, '--count', 1, 10_000);
  const ttl = parseDuration(values.ttl ?? '1h', '--ttl');
  if (ttl < 60_000 || ttl > 30 * 86_400_000) throw new UsageError('--ttl must be between 1m and 30d');
  const type = values['device-type'] ?? 'default';
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(type))
    throw new UsageError('--device-type must match ^[a-z0-9][a-z0-9-]{0,31}$');
  const admin = openAdmin(values);
  try {
    // Whole seconds, as the API takes them (--ttl 90s, not 90.5s).
    const { tokens, expires } = await admin.enrollment.createTokens({
      count,
      ttlSeconds: Math.round(ttl / 1000),
      deviceType: type,
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ tokens, expires })}\n`);
    } else {
      process.stdout.write(`${tokens.join('\n')}\n`);
      process.stderr.write(`${count} token(s) for device type ${type}, valid until ${expires}, each usable once\n`);
    }
    return 0;
  } finally {
    admin.close();
  }
}
