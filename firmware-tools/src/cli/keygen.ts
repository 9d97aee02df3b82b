// fw keygen: a new Ed25519 key pair as PKCS#8 PEM (mode 0600) and SPKI PEM (FILE.pub).
import { parseCli, required } from '../../../shared/src/cli/index.js';
import { generateKeyPair, keyId } from '../../../shared/src/crypto/index.js';
import { writeKeyPair } from '../key-files.js';
import { json, type Command } from './io.js';

const HELP = `Usage: fw keygen --out FILE [--force] [--json]

Writes a new Ed25519 private key to FILE (PKCS#8 PEM, mode 0600) and its public key to FILE.pub
(SPKI PEM). Both are the formats of \`openssl genpkey -algorithm ed25519\` and \`openssl pkey -pubout\`.

Options:
  --out FILE   private key file; the public key goes to FILE.pub
  --force      overwrite existing files (refused by default)
  --json       print the key id and paths as JSON
  -h, --help   show this help`;

export const keygen: Command = async (argv, io) => {
  const { values } = parseCli(
    argv,
    { out: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } },
    HELP,
  );
  const out = required(values.out, '--out');
  const pair = generateKeyPair();
  const paths = await writeKeyPair(out, pair, values.force === true);
  const id = keyId(pair.publicKey);
  if (values.json) io.out(json({ keyId: id, private: paths.privatePath, public: paths.publicPath }));
  else io.out(`wrote ${paths.privatePath} (private, mode 0600) and ${paths.publicPath}\nkey id ${id}\n`);
  return 0;
};
