// fw verify: exit 0 when the bundle is valid for the trust chain (and device facts given), 1 with a reason
// code when it is not (or a file cannot be read: FW_IO), 2 on a usage error.
import { createProgress, parseCli, parsePositiveInt, UsageError } from '../../../shared/src/cli/index.js';
import { EdgewardError } from '../../../shared/src/errors.js';
import { manifestToJson } from '../bundle/manifest.js';
import { isSemver } from '../bundle/semver.js';
import { verifyBundleFile } from '../bundle/verify-file.js';
import { loadPublicKey } from '../key-files.js';
import { json, PROGRESS_MIN_BYTES, requireFile, type Command } from './io.js';
import { describeTrust, readTrustFile } from './trust-files.js';

const HELP = `Usage: fw verify FILE.bundle --trust trust.cbor [--trust next.cbor …] [--root-key ROOT.pub …]
                 [--root-threshold k] [--hardware ID] [--installed-sequence N] [--agent-version V] [--json]

Verifies a bundle: manifest signatures by a threshold of release keys from the trust document, manifest
expiry, hardware id, anti-rollback sequence, and the payload's size and SHA-256 (read as a stream).
Exit code 0: valid. 1: invalid (the reason code is printed), or a file cannot be read (error FW_IO).
2: usage error.

Options:
  --trust FILE           trust document; repeat to give a chain, oldest first (each must chain to the last)
  --root-key KEY         root public key a device ships with; the first trust document must be signed by it
                         (repeatable). Without it, the first trust document is taken as given.
  --root-threshold k     how many --root-key signatures are needed (default: all of them)
  --hardware ID          refuse bundles for other hardware
  --installed-sequence N refuse bundles whose sequence is not above N
  --agent-version V      refuse bundles that need a newer agent
  --json                 print the verdict as JSON
  -h, --help             show this help`;

export const verify: Command = async (argv, io) => {
  const { values, positionals } = parseCli(
    argv,
    {
      trust: { type: 'string', multiple: true },
      'root-key': { type: 'string', multiple: true },
      'root-threshold': { type: 'string' },
      hardware: { type: 'string' },
      'installed-sequence': { type: 'string' },
      'agent-version': { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  if (positionals.length !== 1) throw new UsageError(`expected one bundle file\n\n${HELP}`);
  const file = positionals[0]!;
  const trustFiles = values.trust ?? [];
  if (trustFiles.length === 0) throw new UsageError('--trust is required (see --help)');
  const rootFiles = values['root-key'] ?? [];
  const rootThreshold =
    values['root-threshold'] === undefined ? undefined : parsePositiveInt(values['root-threshold'], '--root-threshold');
  if (rootThreshold !== undefined && rootThreshold > rootFiles.length)
    throw new UsageError('--root-threshold exceeds the number of --root-key options');
  let installed: number | undefined;
  if (values['installed-sequence'] !== undefined) {
    if (!/^\d+$/.test(values['installed-sequence']) || !Number.isSafeInteger(Number(values['installed-sequence']))) {
      throw new UsageError('--installed-sequence must be a non-negative integer');
    }
    installed = Number(values['installed-sequence']);
  }
  const agentVersion = values['agent-version'];
  if (agentVersion !== undefined && !isSemver(agentVersion))
    throw new UsageError('--agent-version is not a semantic version');
  await requireFile(file, 'bundle');
  for (const r of rootFiles) await requireFile(r, '--root-key');
  for (const t of trustFiles) await requireFile(t, '--trust');

  const now = io.now();
  let progress: ReturnType<typeof createProgress> | undefined;
  const onSize = (size: number): void => {
    if (size >= PROGRESS_MIN_BYTES) progress = createProgress('verifying', size);
  };
  const onProgress = (done: number): void => progress?.update(done);
  try {
    const anchorKeys: Uint8Array[] = [];
    for (const r of rootFiles) anchorKeys.push(await loadPublicKey(r));
    const trustDocuments: Uint8Array[] = [];
    for (const t of trustFiles) trustDocuments.push(await readTrustFile(t));
    const { bundle: result, trust } = await verifyBundleFile(file, {
      trustDocuments,
      ...(anchorKeys.length > 0
        ? { anchor: { rootKeys: anchorKeys, ...(rootThreshold !== undefined ? { threshold: rootThreshold } : {}) } }
        : {}),
      ...(values.hardware !== undefined ? { hardware: values.hardware } : {}),
      ...(installed !== undefined ? { installedSequence: installed } : {}),
      ...(agentVersion !== undefined ? { agentVersion } : {}),
      now,
      onSize,
      onProgress,
    });
    progress?.finish();
    const manifest = manifestToJson(result.manifest);
    if (values.json) {
      io.out(json({ valid: true, file, manifest, signers: result.signers, trust: describeTrust(trust) }));
    } else {
      io.out(
        `VALID ${file}\n` +
          `  hardware  ${result.manifest.hardware}\n` +
          `  version   ${result.manifest.version} (sequence ${result.manifest.sequence})\n` +
          `  payload   ${result.manifest.size} bytes, sha256 ${manifest.sha256 as string}\n` +
          `  expires   ${manifest.expires as string}\n` +
          `  signed by ${result.signers.join(', ')} (${result.signers.length} of ` +
          `${trust.releaseThreshold} required)\n` +
          `  trust     version ${trust.version}, expires ${describeTrust(trust).expires as string}\n`,
      );
    }
    return 0;
  } catch (err) {
    if (!(err instanceof EdgewardError) || err instanceof UsageError) throw err;
    if (progress) io.err('\n');
    if (values.json)
      io.out(
        json({
          valid: false,
          file,
          code: err.code,
          message: err.message,
          ...(err.details ? { details: err.details } : {}),
        }),
      );
    else io.out(`INVALID ${file}\n  ${err.code}: ${err.message}\n`);
    return 1;
  }
};
