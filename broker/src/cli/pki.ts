// fleet pki init: the fleet CA and the server certificate.
import { parseCli, required, UsageError, dispatch, type StorageKey } from '../../../shared/src/index.js';
import { isPkcs11Uri } from '../../../shared/src/pkcs11/index.js';
import { DEFAULT_SANS, initPki } from '../fleet/data-dir.js';
import { parseSans } from '../pki/x509.js';
import { readNewStorageKey, storageKeyFileOf } from '../fleet/at-rest.js';
import { withHint } from './file-args.js';
import { STORAGE_KEY_OPTION } from './storage-key.js';
import { parseValidityDays } from './validity-days.js';

const HELP = `fleet pki init --data DIR [--san DNS:host,IP:addr …] [--ca-days 3650] [--server-days 825]
                 [--ca-key PKCS11-URI] [--encrypt-at-rest --storage-key FILE|PKCS11-URI]

Creates the fleet CA (P-256) and the fleet server's TLS certificate in DIR/pki, and the fleet database.
Private keys are written with mode 0600 in a 0700 folder. An existing CA is never overwritten.

  --data DIR        fleet data folder (created if absent)
  --san LIST        subject alternative names of the server certificate, repeatable or comma-separated
                    (default: DNS:localhost,IP:127.0.0.1,IP:::1; given names are added to these)
  --ca-days N       CA validity in days (default 3650)
  --server-days N   server certificate validity in days (default 825)
  --ca-key URI      make the CA key inside a hardware security module instead of a file: an RFC 7512
                    PKCS#11 URI, quoted for the shell, e.g.
                    'pkcs11:token=edgeward;object=fleet-ca?module-path=/usr/lib/X.so&pin-source=file:/etc/edgeward/pin'
                    The key is non-extractable; DIR/pki/ca.key then holds only the URI. See docs/hsm.md.
  --encrypt-at-rest encrypt the folder at rest: the database (every page, the WAL too) and the private keys,
                    under the storage key --storage-key FILE (or EDGEWARD_STORAGE_KEY_FILE) names: 64 hex digits,
                    mode 0600, outside DIR (openssl rand -hex 32 > FILE && chmod 600 FILE). Every command that
                    opens DIR then needs that key. Off by default; see docs/encryption-at-rest.md
  --storage-key FILE|PKCS11-URI  the storage key (only with --encrypt-at-rest); a PKCS#11 URI names a secret
                    key in a token, made there when the label is new (docs/hsm.md#storage-keys)`;

export function pkiCommand(argv: string[]): Promise<number> {
  return dispatch(argv, { init: initPkiCommand }, HELP);
}

async function initPkiCommand(rest: string[]): Promise<number> {
  const { values } = parseCli(
    rest,
    {
      data: { type: 'string' },
      san: { type: 'string', multiple: true },
      'ca-days': { type: 'string' },
      'server-days': { type: 'string' },
      'encrypt-at-rest': { type: 'boolean' },
      ...STORAGE_KEY_OPTION,
      'ca-key': { type: 'string' },
    },
    HELP,
  );
  const dir = required(values.data, '--data');
  let extra: ReturnType<typeof parseSans>;
  try {
    extra = parseSans(values.san ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const sans = [
    ...DEFAULT_SANS,
    ...extra.filter((e) => !DEFAULT_SANS.some((d) => d.type === e.type && d.value === e.value)),
  ];
  const caValidityDays = parseValidityDays(values['ca-days'], '--ca-days', 3650);
  const serverValidityDays = parseValidityDays(values['server-days'], '--server-days', 825);
  const caKey = values['ca-key'];
  if (caKey !== undefined && !isPkcs11Uri(caKey)) throw new UsageError('--ca-key takes a PKCS#11 URI (pkcs11:…)');
  const storageKey = newFolderKey(dir, values['encrypt-at-rest'] === true, values['storage-key']);
  const opts = {
    sans,
    caValidityDays,
    serverValidityDays,
    ...(caKey !== undefined ? { caKeyUri: caKey } : {}),
    ...(storageKey ? { storageKey } : {}),
  };
  const p = await initPki(dir, opts).catch((err: unknown) => {
    throw withHint(err, 'give --data a folder on a writable disk with free space');
  });
  process.stdout.write(
    `fleet CA and server certificate created in ${p.pki}\n` +
      `  CA certificate  ${p.caCert}  (give this to devices)\n` +
      (storageKey
        ? `  encrypted at rest under the storage key ${storageKey.source} (keep it, and a copy, apart)\n`
        : '') +
      (caKey !== undefined ? '  CA key          in the token (non-extractable); ca.key holds its URI\n' : '') +
      `  server names    ${sans.map((s) => `${s.type.toUpperCase()}:${s.value}`).join(', ')}\n` +
      `next: fleet device add gw-001 --data ${dir} --out ./gw-001\n`,
  );
  return 0;
}

/** --encrypt-at-rest needs a key (flag or environment); a key without the flag is a mistake, not a hint. */
function newFolderKey(dir: string, encrypt: boolean, flag: string | undefined): StorageKey | undefined {
  if (!encrypt) {
    if (flag !== undefined) throw new UsageError('--storage-key goes with --encrypt-at-rest');
    return undefined;
  }
  const file = storageKeyFileOf(flag);
  if (file === undefined) {
    throw new UsageError(
      '--encrypt-at-rest needs the storage key: --storage-key FILE or EDGEWARD_STORAGE_KEY_FILE ' +
        '(make one with `openssl rand -hex 32 > FILE && chmod 600 FILE`, outside the data folder)',
    );
  }
  return readNewStorageKey(dir, file);
}
