// fw inspect: print a bundle's manifest and the keys that claim to have signed it (nothing is verified).
import { parseCli, UsageError } from '../../../shared/src/cli/index.js';
import { inspectBundle } from '../bundle/inspect-bundle.js';
import { manifestToJson } from '../bundle/manifest.js';
import { json, requireFile, type Command } from './io.js';

const HELP = `Usage: fw inspect FILE.bundle [--json]

Prints the manifest and the signers' key ids of a bundle. Nothing is verified: use fw verify for that.

Options:
  --json       print as JSON
  -h, --help   show this help`;

/** Unverified text (release notes) must not drive the terminal: control characters other than newline are escaped. */
function printable(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: this is the list of control characters to escape
    /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

export const inspect: Command = async (argv, io) => {
  const { values, positionals } = parseCli(argv, { json: { type: 'boolean' } }, HELP);
  if (positionals.length !== 1) throw new UsageError(`expected one bundle file\n\n${HELP}`);
  const file = positionals[0]!;
  await requireFile(file, 'bundle');
  const info = await inspectBundle(file);
  const manifest = manifestToJson(info.manifest);
  const signers = info.signatures.map((s) => ({ keyId: s.keyId, alg: s.alg === -8 ? 'EdDSA' : s.alg }));
  if (values.json) {
    io.out(json({ file, verified: false, manifest, signers, payloadOffset: info.payloadOffset }));
    return 0;
  }
  const rows = Object.entries(manifest).map(
    ([k, v]) => `  ${k.padEnd(16)} ${printable(String(v)).replace(/\n/g, `\n${' '.repeat(19)}`)}`,
  );
  io.out(
    `${file} (not verified; use fw verify)\n${rows.join('\n')}\n` +
      `  signers          ${signers.map((s) => `${s.keyId} (${String(s.alg)})`).join(', ')}\n` +
      `  payload offset   ${info.payloadOffset}\n`,
  );
  return 0;
};
