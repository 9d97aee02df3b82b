// fw keygen: a new Ed25519 key pair as PKCS#8 PEM (mode 0600) and SPKI PEM (FILE.pub), or a non-extractable
// Ed25519 key inside a PKCS#11 token with only its public key written out.
import { parseCli, required, UsageError } from '../../../shared/src/cli/index.js';
import { generateKeyPair, keyId } from '../../../shared/src/crypto/index.js';
import { isPkcs11Uri } from '../../../shared/src/pkcs11/index.js';
import { generateTokenKey, writeKeyPair } from '../key-files.js';
import { json, type Command } from './io.js';

const HELP = `Usage: fw keygen --out FILE [--force] [--json]
       fw keygen --out PKCS11-URI --pub FILE [--force] [--json]

Writes a new Ed25519 private key to FILE (PKCS#8 PEM, mode 0600) and its public key to FILE.pub
(SPKI PEM). Both are the formats of \`openssl genpkey -algorithm ed25519\` and \`openssl pkey -pubout\`.

With a PKCS#11 URI (RFC 7512) as --out, the key is generated inside the token, non-extractable, under the
URI's object label, and only its public key is written, to --pub. Quote the URI for the shell:
  fw keygen --pub release-1.pub --out \\
    'pkcs11:token=edgeward;object=release-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/pin'
The pin-source file must be mode 0600. See docs/hsm.md.

Options:
  --out FILE|URI  private key file (the public key goes to FILE.pub), or a PKCS#11 URI
  --pub FILE      with a URI: where the public key goes (SPKI PEM)
  --force         overwrite existing files (refused by default; a key in a token is never replaced)
  --json          print the key id and paths as JSON
  -h, --help      show this help`;

export const keygen: Command = async (argv, io) => {
  const { values } = parseCli(
    argv,
    { out: { type: 'string' }, pub: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } },
    HELP,
  );
  const out = required(values.out, '--out');
  if (isPkcs11Uri(out)) {
    const pub = required(values.pub, '--pub');
    const made = await generateTokenKey(out, pub, values.force === true);
    const id = keyId(made.publicKey);
    if (values.json) io.out(json({ keyId: id, private: out, public: made.publicPath }));
    else io.out(`made a non-extractable key in the token, wrote ${made.publicPath}\nkey id ${id}\n`);
    return 0;
  }
  if (values.pub !== undefined) throw new UsageError('--pub goes with a PKCS#11 URI as --out (FILE.pub otherwise)');
  const pair = generateKeyPair();
  const paths = await writeKeyPair(out, pair, values.force === true);
  const id = keyId(pair.publicKey);
  if (values.json) io.out(json({ keyId: id, private: paths.privatePath, public: paths.publicPath }));
  else io.out(`wrote ${paths.privatePath} (private, mode 0600) and ${paths.publicPath}\nkey id ${id}\n`);
  return 0;
};
