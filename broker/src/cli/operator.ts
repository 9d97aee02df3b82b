// fleet operator add | list | revoke: the people who may use the management plane, and their roles.
import {
  dispatch,
  generateKeyPair,
  keyId,
  parseCli,
  privateKeyToPem,
  publicKeyToPem,
  required,
  UsageError,
  writeSecret,
} from '../../../shared/src/index.js';
import { generatePkcs11Key, isPkcs11Uri } from '../../../shared/src/pkcs11/index.js';
import { ROLE_NAMES, ROLES, isRole, type Role } from '../api/roles.js';
import { renderTable } from './table.js';
import { openAdmin, TARGET_HELP, TARGET_OPTIONS, type TargetValues } from './target.js';

const HELP = `fleet operator <command>

  fleet operator add NAME --role ROLE --out FILE [--force] (--data DIR | --server URL …)
      Registers an operator and writes its credential to FILE (mode 0600): an Ed25519 private key made on this
      machine, which never travels. The same key signs the operator's device commands, so one identity both
      authenticates and signs. The first admin is added with --data on the server host.
      With a PKCS#11 URI as --out (quoted; see docs/hsm.md) the key is made inside that token, non-extractable,
      and the URI is then the operator's --credential.
  fleet operator list [--json] (--data DIR | --server URL …)
  fleet operator revoke NAME (--data DIR | --server URL …)
      Its tokens stop working at once (every request checks the operator's status).

Roles (each has what the one before it has):
${ROLE_NAMES.map((r) => `  ${r.padEnd(16)} ${ROLES[r].join(' ')}`).join('\n')}

${TARGET_HELP}`;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

function nameArg(positionals: string[]): string {
  const [name] = positionals;
  if (!name || positionals.length > 1) throw new UsageError(`give one operator NAME\n\n${HELP}`);
  if (!NAME.test(name)) throw new UsageError('an operator NAME holds letters, digits and . _ @ - (at most 64)');
  return name;
}

export function operatorCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { add, list, revoke }, HELP);
}

async function add(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    { ...TARGET_OPTIONS, role: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } },
    HELP,
  );
  const name = nameArg(positionals);
  const role = required(values.role, '--role');
  if (!isRole(role)) throw new UsageError(`--role must be one of ${ROLE_NAMES.join(', ')}`);
  const out = required(values.out, '--out');
  if (isPkcs11Uri(out)) return addWithTokenKey(values, name, role, out);
  const pair = generateKeyPair();
  const admin = openAdmin(values);
  try {
    // The credential is written first: a registered operator without its key would be useless.
    writeSecret(out, privateKeyToPem(pair.secretKey), values.force === true);
    const op = await admin.operators.add({ name, role, publicKey: publicKeyToPem(pair.publicKey) });
    process.stdout.write(
      `operator ${op.name} (${op.role}) registered, key ${keyId(pair.publicKey)}\n` +
        `  credential  ${out}  (0600: keep it with ${op.name}; it proves who they are and signs their commands)\n`,
    );
    return 0;
  } finally {
    admin.close();
  }
}

/** operator add with --out PKCS11-URI: the credential is a key made inside the token; only its public half leaves. */
async function addWithTokenKey(values: TargetValues, name: string, role: Role, uri: string): Promise<number> {
  const admin = openAdmin(values);
  try {
    const key = generatePkcs11Key(uri, 'ed25519');
    key.close();
    const op = await admin.operators.add({ name, role, publicKey: publicKeyToPem(key.publicKey) });
    process.stdout.write(
      `operator ${op.name} (${op.role}) registered, key ${keyId(key.publicKey)}\n` +
        '  credential  in the token (non-extractable): give its PKCS#11 URI as --credential\n',
    );
    return 0;
  } finally {
    admin.close();
  }
}

async function list(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { ...TARGET_OPTIONS, json: { type: 'boolean' } }, HELP);
  const admin = openAdmin(values);
  try {
    const ops = await admin.operators.list();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(ops, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(
      renderTable(
        ['NAME', 'ROLE', 'STATUS', 'KEY', 'CREATED', 'BY'],
        ops.map((o) => [o.name, o.role, o.status, o.kid, o.createdAt, o.createdBy]),
      ),
    );
    return 0;
  } finally {
    admin.close();
  }
}

async function revoke(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, { ...TARGET_OPTIONS }, HELP);
  const name = nameArg(positionals);
  const admin = openAdmin(values);
  try {
    const r = await admin.operators.revoke(name);
    process.stdout.write(
      r.revoked ? `operator ${name} revoked; its tokens no longer work\n` : `operator ${name} was already revoked\n`,
    );
    return 0;
  } finally {
    admin.close();
  }
}
