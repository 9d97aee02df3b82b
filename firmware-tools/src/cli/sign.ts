// fw sign: hash a payload as a stream, sign its manifest with one or more release keys, write the bundle.
import { stat } from 'node:fs/promises';
import {
  createProgress,
  parseCli,
  parseDuration,
  parsePositiveInt,
  required,
  UsageError,
} from '../../../shared/src/cli/index.js';
import { equalBytes, keyId } from '../../../shared/src/crypto/index.js';
import { isPkcs11Uri } from '../../../shared/src/pkcs11/index.js';
import { MAX_NOTES_LENGTH, HARDWARE_ID, manifestToJson } from '../bundle/manifest.js';
import { isSemver } from '../bundle/semver.js';
import { signBundleFile, type SignPhase } from '../bundle/sign-bundle.js';
import { MAX_SIGNATURES, type Signer } from '../bundle/signature-set.js';
import { loadSigner } from '../key-files.js';
import { json, lifetimeSeconds, PROGRESS_MIN_BYTES, readInputFile, requireFile, type Command } from './io.js';

const HELP = `Usage: fw sign --key KEY [--key KEY2 …] --payload FILE --hardware ID --version X.Y.Z
               --sequence N [--expires 90d] [--min-agent-version X.Y.Z] [--notes TEXT | --notes-file FILE]
               --out FILE.bundle [--json]

Writes a firmware bundle: a signed manifest (one COSE_Sign1 per key), then the payload.

Options:
  --key KEY              release private key (PKCS#8 PEM, e.g. from fw keygen or openssl genpkey), or a
                         PKCS#11 URI of an Ed25519 key in a token (see docs/hsm.md), quoted for the shell:
                         'pkcs11:token=T;object=K?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/P'
                         repeat to add signatures toward the trust document's threshold
  --payload FILE         the firmware image
  --hardware ID          product / hardware id the image is for
  --version X.Y.Z        semantic version of the image
  --sequence N           monotonic sequence number; devices refuse any N not above the installed one
  --expires DURATION     lifetime of the manifest (default 90d)
  --min-agent-version V  oldest agent version that may install it
  --notes TEXT           release notes (or --notes-file FILE), at most ${MAX_NOTES_LENGTH} characters
  --out FILE             the bundle to write (replaced atomically)
  --json                 print the manifest as JSON
  -h, --help             show this help`;

export const sign: Command = async (argv, io) => {
  const { values } = parseCli(
    argv,
    {
      key: { type: 'string', multiple: true },
      payload: { type: 'string' },
      hardware: { type: 'string' },
      version: { type: 'string' },
      sequence: { type: 'string' },
      expires: { type: 'string' },
      'min-agent-version': { type: 'string' },
      notes: { type: 'string' },
      'notes-file': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  const keys = values.key ?? [];
  if (keys.length === 0) throw new UsageError('--key is required (see --help)');
  if (keys.length > MAX_SIGNATURES) throw new UsageError(`at most ${MAX_SIGNATURES} --key options`);
  const payload = required(values.payload, '--payload');
  const hardware = required(values.hardware, '--hardware');
  if (!HARDWARE_ID.test(hardware)) throw new UsageError(`--hardware must match ${HARDWARE_ID}`);
  const version = required(values.version, '--version');
  if (!isSemver(version))
    throw new UsageError(`--version ${JSON.stringify(version)} is not a semantic version (X.Y.Z)`);
  const sequence = parsePositiveInt(values.sequence, '--sequence');
  const lifetime = lifetimeSeconds(parseDuration(values.expires ?? '90d', '--expires'), '--expires');
  const minAgent = values['min-agent-version'];
  if (minAgent !== undefined && !isSemver(minAgent))
    throw new UsageError('--min-agent-version is not a semantic version');
  if (values.notes !== undefined && values['notes-file'] !== undefined)
    throw new UsageError('give --notes or --notes-file, not both');
  let notes = values.notes;
  const tooLong = () => new UsageError(`release notes are longer than ${MAX_NOTES_LENGTH} characters`);
  if (values['notes-file'] !== undefined) {
    // UTF-8 takes at most 4 bytes a character: a larger file cannot hold notes short enough.
    notes = readInputFile(values['notes-file'], '--notes-file', 4 * MAX_NOTES_LENGTH, tooLong).toString('utf8');
  }
  if (notes !== undefined && notes.length > MAX_NOTES_LENGTH) throw tooLong();
  const out = required(values.out, '--out');
  await requireFile(payload, '--payload');
  for (const k of keys) if (!isPkcs11Uri(k)) await requireFile(k, '--key');

  const signers: Signer[] = [];
  for (const k of keys) {
    const s = await loadSigner(k);
    if (signers.some((o) => equalBytes(o.publicKey, s.publicKey)))
      throw new UsageError(`--key ${k} is a key given twice (${keyId(s.publicKey)})`);
    signers.push(s);
  }

  let bar: { phase: SignPhase; progress: ReturnType<typeof createProgress> } | undefined;
  const { size } = await stat(payload);
  const onProgress = (phase: SignPhase, done: number): void => {
    if (size < PROGRESS_MIN_BYTES) return;
    if (bar?.phase !== phase) {
      bar?.progress.finish();
      bar = { phase, progress: createProgress(phase, size) };
    }
    bar.progress.update(done);
  };
  const signed = await signBundleFile({
    payloadPath: payload,
    outPath: out,
    signers,
    hardware,
    version,
    sequence,
    lifetimeSeconds: lifetime,
    now: io.now(),
    ...(minAgent !== undefined ? { minAgentVersion: minAgent } : {}),
    ...(notes !== undefined ? { notes } : {}),
    onProgress,
  });
  bar?.progress.finish();
  if (values.json) {
    io.out(
      json({
        bundle: out,
        bundleSize: signed.bundleSize,
        manifest: manifestToJson(signed.manifest),
        signers: signed.keyIds,
      }),
    );
  } else {
    const m = signed.manifest;
    io.out(
      `wrote ${out} (${signed.bundleSize} bytes)\n` +
        `  hardware ${m.hardware}  version ${m.version}  sequence ${m.sequence}\n` +
        `  payload  ${m.size} bytes  sha256 ${Buffer.from(m.sha256).toString('hex')}\n` +
        `  expires  ${manifestToJson(m).expires as string}\n` +
        `  signed by ${signed.keyIds.join(', ')}\n`,
    );
  }
  return 0;
};
