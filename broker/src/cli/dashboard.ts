// fleet dashboard link: a one-time URL that opens the dashboard as an operator.
import { dispatch, parseCli, UsageError } from '../../../shared/src/index.js';
import { LINK_TTL_MS } from '../db/dashboard-sessions.js';
import { DEFAULT_HTTP_PORT } from '../server.js';
import { openTarget, resolveTarget, TARGET_HELP, TARGET_OPTIONS } from './target.js';

const HELP = `fleet dashboard link (--data DIR --operator NAME [--url URL] | --server URL --ca FILE --credential FILE)
                     [--json]

Prints a one-time URL that opens the fleet dashboard as the operator, with their role. It works once, within
${LINK_TTL_MS / 60_000} minutes; opening it starts a session of an hour in that browser (an HttpOnly cookie). Logging
out, or revoking the operator, ends the session. Through --server the link is for the credential's own operator.

  --operator NAME   on the server host: whose session the link opens (fleet operator list)
  --url URL         on the server host: the server's HTTPS address as the browser reaches it
                    (default https://localhost:${DEFAULT_HTTP_PORT})
  --json            print {"url": …, "operator": …, "role": …, "expiresAt": …}

The browser must trust the fleet CA (ca.crt in the data folder) to open the server's HTTPS address.

${TARGET_HELP}`;

export function dashboardCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { link }, HELP);
}

async function link(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    { ...TARGET_OPTIONS, operator: { type: 'string' }, url: { type: 'string' }, json: { type: 'boolean' } },
    HELP,
  );
  const target = resolveTarget(values);
  if (target.kind === 'server' && (values.operator !== undefined || values.url !== undefined)) {
    throw new UsageError("--operator and --url go with --data; through --server the link is the credential's own");
  }
  if (target.kind === 'data' && values.operator === undefined) {
    throw new UsageError('--data needs --operator NAME (whose session the link opens)');
  }
  const base = target.kind === 'server' ? target.server : (values.url ?? `https://localhost:${DEFAULT_HTTP_PORT}`);
  let origin: string;
  try {
    const u = new URL(base);
    if (u.protocol !== 'https:') throw new Error('not https');
    origin = u.origin;
  } catch {
    throw new UsageError(`${target.kind === 'server' ? '--server' : '--url'} must be an https:// URL, got ${base}`);
  }
  const admin = openTarget(target);
  try {
    const made = await admin.dashboard.link(values.operator ?? '');
    const url = `${origin}${made.path}`;
    if (values.json) {
      const { path: _path, ...rest } = made;
      process.stdout.write(`${JSON.stringify({ url, ...rest }, null, 2)}\n`);
    } else {
      process.stdout.write(`${url}\n`);
      process.stderr.write(
        `one-time link for ${made.operator} (${made.role}); it works once, until ${made.expiresAt}\n`,
      );
    }
    return 0;
  } finally {
    admin.close();
  }
}
