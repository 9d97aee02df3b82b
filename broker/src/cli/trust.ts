// fleet trust set | show: the firmware trust documents the server verifies releases against.
import { dispatch, parseCli, readRegularFile, UsageError } from '../../../shared/src/index.js';
import type { TrustView } from '../admin/types.js';
import { MAX_TRUST_DOCUMENT_BYTES } from '../fleet/releases.js';
import { openAdmin, TARGET_HELP, TARGET_OPTIONS } from './target.js';

const HELP = `fleet trust <command>

  fleet trust set TRUST.cbor [--json] (--data DIR | --server URL …)
      Installs the fleet's firmware trust document (fw trust init / fw trust update). The first one becomes the
      anchor: it only has to be signed by its own root keys, so installing it is a step for someone the fleet
      trusts (check its root key ids with \`fw trust show\`). Every later one must follow the chain from the newest
      installed: exactly one version up, signed by a threshold of the previous and of its own root keys.
  fleet trust show [--json] (--data DIR | --server URL …)
      The installed documents, oldest first.

${TARGET_HELP}`;

export function trustCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { set, show }, HELP);
}

const describe = (t: TrustView) =>
  `trust document version ${t.version} (sha256 ${t.sha256})\n` +
  `  installed        ${t.installedAt} by ${t.installedBy ?? '-'}\n` +
  `  expires          ${t.expires}\n` +
  `  root threshold   ${t.rootThreshold}\n` +
  `  release keys     ${t.releaseKeys.join(' ')} (threshold ${t.releaseThreshold})\n`;

async function set(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { ...TARGET_OPTIONS, json: { type: 'boolean' } }, HELP);
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new UsageError(`give one TRUST document file\n\n${HELP}`);
  const document = new Uint8Array(readRegularFile(file, { maxBytes: MAX_TRUST_DOCUMENT_BYTES }));
  const admin = openAdmin(values);
  try {
    const out = await admin.trust.set(document);
    if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    else process.stdout.write(`${out.installed ? 'installed' : 'already installed'}: ${describe(out.trust)}`);
    return 0;
  } finally {
    admin.close();
  }
}

async function show(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { ...TARGET_OPTIONS, json: { type: 'boolean' } }, HELP);
  const admin = openAdmin(values);
  try {
    const items = await admin.trust.list();
    if (values.json) process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
    else process.stdout.write(items.length ? items.map(describe).join('') : 'no trust document is installed\n');
    return 0;
  } finally {
    admin.close();
  }
}
