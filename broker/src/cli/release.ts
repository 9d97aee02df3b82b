// fleet release publish | list | show: firmware bundles the server verified against the fleet's trust documents.
import { openSync, closeSync, constants, fstatSync } from 'node:fs';
import { dispatch, FileError, ioError, parseCli, UsageError } from '../../../shared/src/index.js';
import type { ReleaseView } from '../admin/types.js';
import { renderTable } from './table.js';
import { openAdmin, TARGET_HELP, TARGET_OPTIONS } from './target.js';

const HELP = `fleet release <command>

  fleet release publish BUNDLE [--json] (--data DIR | --server URL …)
      Streams a signed bundle (fw sign) to the server, which verifies it against the installed trust documents
      (fleet trust set) and keeps it as releases/ID.ewfw, ID being the SHA-256 of the file. A bundle that does not
      verify is refused with the verifier's FW_* code; publishing the same bundle again shows the existing release.
  fleet release list [--json] (--data DIR | --server URL …)
  fleet release show ID [--json] (--data DIR | --server URL …)
      ID is the release id or a unique prefix of at least 8 hex characters.

${TARGET_HELP}`;

export function releaseCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { publish, list, show }, HELP);
}

/** The bundle must be a regular file (a FIFO would block; a folder is a mistake). */
function checkBundleFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw ioError(err, 'read', path);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new FileError(path, 'not-regular', `cannot read ${path}: not a regular file`);
  } finally {
    closeSync(fd);
  }
}

function describe(r: ReleaseView): string {
  return (
    `release ${r.id}\n` +
    `  hardware   ${r.hardware}\n` +
    `  version    ${r.version} (sequence ${r.sequence})\n` +
    `  size       ${r.size} bytes (payload ${r.payloadSize}, sha256 ${r.payloadSha256})\n` +
    `  signers    ${r.signers.join(' ')}\n` +
    `  expires    ${r.expiresAt}\n` +
    `  published  ${r.publishedAt} by ${r.publishedBy ?? '-'}\n`
  );
}

async function publish(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { ...TARGET_OPTIONS, json: { type: 'boolean' } }, HELP);
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new UsageError(`give one BUNDLE file\n\n${HELP}`);
  checkBundleFile(file);
  const admin = openAdmin(values);
  try {
    const out = await admin.releases.publish({ path: file });
    if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    else process.stdout.write(`${out.created ? 'published' : 'already published'}: ${describe(out.release)}`);
    return 0;
  } finally {
    admin.close();
  }
}

async function list(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { ...TARGET_OPTIONS, json: { type: 'boolean' } }, HELP);
  const admin = openAdmin(values);
  try {
    const items = await admin.releases.list();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(
      renderTable(
        ['ID', 'HARDWARE', 'VERSION', 'SEQUENCE', 'SIZE', 'EXPIRES', 'PUBLISHED'],
        items.map((r) => [r.id.slice(0, 16), r.hardware, r.version, r.sequence, r.size, r.expiresAt, r.publishedAt]),
      ),
    );
    return 0;
  } finally {
    admin.close();
  }
}

async function show(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { ...TARGET_OPTIONS, json: { type: 'boolean' } }, HELP);
  const [id] = positionals;
  if (!id || positionals.length > 1) throw new UsageError(`give one release ID\n\n${HELP}`);
  if (!/^[0-9a-fA-F]{8,64}$/.test(id)) throw new UsageError('a release ID is 8 to 64 hex characters');
  const admin = openAdmin(values);
  try {
    const r = await admin.releases.get(id);
    process.stdout.write(values.json ? `${JSON.stringify(r, null, 2)}\n` : describe(r));
    return 0;
  } finally {
    admin.close();
  }
}
