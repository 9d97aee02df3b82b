// fw trust add-release-key | remove-release-key | rotate-root: the next trust version, signed by a
// threshold of the current root keys (and, on rotation, of the new root keys too).
import { parseCli, parseDuration, parsePositiveInt, required, UsageError } from '../../../shared/src/cli/index.js';
import { nextTrust, withoutReleaseKeys, withReleaseKeys, type TrustChange } from '../bundle/trust-edit.js';
import { verifyTrustDocument } from '../bundle/trust-chain.js';
import type { Signer } from '../bundle/signature-set.js';
import { isoSeconds } from '../bundle/time.js';
import { json, lifetimeSeconds, type Command, type Io } from './io.js';
import { describeTrust, readTrustFile, requireAbsent, trustSummary, writeTrustFile } from './trust-files.js';
import { mixedKeysFrom, publicKeysFrom, requireFewSigners, requireSigners, signersFrom } from './trust-keys.js';

type Kind = 'add-release-key' | 'remove-release-key' | 'rotate-root';

const COMMON = `  --trust FILE          the current trust document
  --root-key KEY        current root private key, or a PKCS#11 URI of one in a token (see docs/hsm.md);
                        repeat until the root threshold is met
  --expires DURATION    lifetime of the new version (default 365d)
  --out FILE            where to write the new version (never overwritten without --force)
  --force               replace an existing --out
  --json                print the new document as JSON
  -h, --help            show this help`;

const HELP: Record<Kind, string> = {
  'add-release-key': `Usage: fw trust add-release-key --trust trust.cbor --root-key ROOT.key [--root-key …]
                     --release-key NEW [--release-key …] [--threshold k] [--expires 365d] --out next.cbor

Writes the next trust version with more release keys.

Options:
  --release-key KEY     release key to add; a public key is enough (repeatable)
  --threshold k         release signatures a bundle needs from now on (default: unchanged)
${COMMON}`,
  'remove-release-key': `Usage: fw trust remove-release-key --trust trust.cbor --root-key ROOT.key [--root-key …]
                     --release-key OLD [--release-key …] [--threshold k] [--expires 365d] --out next.cbor

Writes the next trust version without the given release keys (for example a lost or retired key).

Options:
  --release-key KEY     release key to remove; a public key is enough (repeatable)
  --threshold k         release signatures a bundle needs from now on (default: unchanged)
${COMMON}`,
  'rotate-root': `Usage: fw trust rotate-root --trust trust.cbor --root-key OLD.key [--root-key …]
                     --new-root-key NEW.key [--new-root-key …] [--root-threshold k] [--expires 365d] --out next.cbor

Writes the next trust version with a new set of root keys. It is signed by a threshold of the current root
keys and by a threshold of the new ones. To keep a root key, list it with --new-root-key as well.

Options:
  --new-root-key KEY    root key of the new set; private keys sign, public keys are only listed (repeatable)
  --root-threshold k    root signatures needed from now on (default: unchanged, at most the new key count)
${COMMON}`,
};

function makeCommand(kind: Kind): Command {
  return async (argv: string[], io: Io) => {
    const { values } = parseCli(
      argv,
      {
        trust: { type: 'string' },
        'root-key': { type: 'string', multiple: true },
        'release-key': { type: 'string', multiple: true },
        'new-root-key': { type: 'string', multiple: true },
        threshold: { type: 'string' },
        'root-threshold': { type: 'string' },
        expires: { type: 'string' },
        out: { type: 'string' },
        force: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      HELP[kind],
    );
    const rotating = kind === 'rotate-root';
    const misplaced = rotating ? ['release-key', 'threshold'] : ['new-root-key', 'root-threshold'];
    for (const m of misplaced)
      if (values[m as keyof typeof values] !== undefined)
        throw new UsageError(`--${m} does not apply to trust ${kind}`);
    const trustPath = required(values.trust, '--trust');
    const rootPaths = values['root-key'] ?? [];
    if (rootPaths.length === 0) throw new UsageError('--root-key is required (see --help)');
    const lifetime = lifetimeSeconds(parseDuration(values.expires ?? '365d', '--expires'), '--expires');
    // Numbers are checked with the other flags, before any file is read: a bad value is a usage error first.
    const optionalInt = (flag: 'threshold' | 'root-threshold') =>
      values[flag] === undefined ? undefined : parsePositiveInt(values[flag], `--${flag}`);
    const releaseThreshold = optionalInt('threshold');
    const rootThreshold = optionalInt('root-threshold');
    const out = required(values.out, '--out');
    await requireAbsent(out, values.force === true);

    const current = verifyTrustDocument(await readTrustFile(trustPath), { now: io.now(), allowExpired: true });
    if (io.now() / 1000 >= current.expires)
      io.err(`warning: ${trustPath} expired at ${isoSeconds(current.expires)}; the new version replaces it\n`);
    const rootSigners = await signersFrom(rootPaths, '--root-key');
    requireSigners(
      rootSigners,
      current.rootKeys,
      current.rootThreshold,
      `--root-key (root keys of version ${current.version})`,
    );

    let change: TrustChange;
    let signers: Signer[] = rootSigners;
    if (rotating) {
      const newPaths = values['new-root-key'] ?? [];
      if (newPaths.length === 0) throw new UsageError('--new-root-key is required (see --help)');
      const fresh = await mixedKeysFrom(newPaths, '--new-root-key');
      const threshold = rootThreshold ?? Math.min(current.rootThreshold, fresh.keys.length);
      if (threshold > fresh.keys.length)
        throw new UsageError(`--root-threshold ${threshold} exceeds the ${fresh.keys.length} new root keys`);
      signers = [...rootSigners, ...fresh.signers];
      requireSigners(signers, fresh.keys, threshold, '--new-root-key (the new root keys must sign too)');
      change = { rootKeys: fresh.keys, rootThreshold: threshold };
    } else {
      const paths = values['release-key'] ?? [];
      if (paths.length === 0) throw new UsageError('--release-key is required (see --help)');
      const keys = await publicKeysFrom(paths, '--release-key');
      const releaseKeys =
        kind === 'add-release-key' ? withReleaseKeys(current, keys) : withoutReleaseKeys(current, keys);
      if (releaseKeys.length === 0) throw new UsageError('a trust document must keep at least one release key');
      const threshold = releaseThreshold ?? current.releaseThreshold;
      if (threshold > releaseKeys.length) {
        throw new UsageError(
          `the release threshold ${threshold} would exceed the ${releaseKeys.length} remaining release keys; ` +
            `lower it with --threshold`,
        );
      }
      change = { releaseKeys, releaseThreshold: threshold };
    }
    requireFewSigners(signers);
    const bytes = nextTrust(current, change, { signers, lifetimeSeconds: lifetime, now: io.now() });
    await writeTrustFile(out, bytes, values.force === true);
    const state = verifyTrustDocument(bytes, { now: io.now() });
    if (values.json) io.out(json({ file: out, ...describeTrust(state) }));
    else io.out(`wrote ${out}\n${trustSummary(state)}`);
    return 0;
  };
}

export const trustAddReleaseKey = makeCommand('add-release-key');
export const trustRemoveReleaseKey = makeCommand('remove-release-key');
export const trustRotateRoot = makeCommand('rotate-root');
