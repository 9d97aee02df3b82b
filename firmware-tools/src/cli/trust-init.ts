// fw trust init: trust document version 1, signed by the root keys, naming the release keys and thresholds.
import { parseCli, parseDuration, parsePositiveInt, required, UsageError } from '../../../shared/src/cli/index.js';
import { createTrust } from '../bundle/trust-edit.js';
import { verifyTrustDocument } from '../bundle/trust-chain.js';
import { json, lifetimeSeconds, type Command } from './io.js';
import { describeTrust, requireAbsent, trustSummary, writeTrustFile } from './trust-files.js';
import { mixedKeysFrom, publicKeysFrom, requireFewSigners, requireSigners } from './trust-keys.js';

const HELP = `Usage: fw trust init --root-key ROOT.key [--root-key …] [--root-threshold k]
                     --release-key REL [--release-key …] [--threshold k] [--expires 365d] --out trust.cbor

Creates version 1 of a trust document, signed by the root keys.

Options:
  --root-key KEY        root key; private keys sign, public keys are only listed (repeatable); a PKCS#11
                        URI ('pkcs11:token=T;object=K?module-path=…&pin-source=file:…') signs inside its token
  --root-threshold k    root signatures needed for any later version (default 1)
  --release-key KEY     release key that may sign bundles; a public key is enough (repeatable)
  --threshold k         release signatures a bundle needs (default 1)
  --expires DURATION    lifetime of this version (default 365d)
  --out FILE            where to write the trust document (never overwritten without --force)
  --force               replace an existing --out
  --json                print the document as JSON
  -h, --help            show this help`;

export const trustInit: Command = async (argv, io) => {
  const { values } = parseCli(
    argv,
    {
      'root-key': { type: 'string', multiple: true },
      'root-threshold': { type: 'string' },
      'release-key': { type: 'string', multiple: true },
      threshold: { type: 'string' },
      expires: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  const rootPaths = values['root-key'] ?? [];
  const releasePaths = values['release-key'] ?? [];
  if (rootPaths.length === 0) throw new UsageError('--root-key is required (see --help)');
  if (releasePaths.length === 0) throw new UsageError('--release-key is required (see --help)');
  const rootThreshold = parsePositiveInt(values['root-threshold'], '--root-threshold', 1);
  const releaseThreshold = parsePositiveInt(values.threshold, '--threshold', 1);
  if (rootThreshold > rootPaths.length)
    throw new UsageError(`--root-threshold ${rootThreshold} exceeds the ${rootPaths.length} root keys`);
  if (releaseThreshold > releasePaths.length)
    throw new UsageError(`--threshold ${releaseThreshold} exceeds the ${releasePaths.length} release keys`);
  const lifetime = lifetimeSeconds(parseDuration(values.expires ?? '365d', '--expires'), '--expires');
  const out = required(values.out, '--out');
  await requireAbsent(out, values.force === true);

  const roots = await mixedKeysFrom(rootPaths, '--root-key');
  const releaseKeys = await publicKeysFrom(releasePaths, '--release-key');
  requireSigners(roots.signers, roots.keys, rootThreshold, '--root-key');
  requireFewSigners(roots.signers);
  const bytes = createTrust({
    rootSigners: roots.signers,
    extraRootKeys: roots.keys,
    rootThreshold,
    releaseKeys,
    releaseThreshold,
    lifetimeSeconds: lifetime,
    now: io.now(),
  });
  await writeTrustFile(out, bytes, values.force === true);
  const state = verifyTrustDocument(bytes, { now: io.now() });
  if (values.json) io.out(json({ file: out, ...describeTrust(state) }));
  else io.out(`wrote ${out}\n${trustSummary(state)}`);
  return 0;
};
