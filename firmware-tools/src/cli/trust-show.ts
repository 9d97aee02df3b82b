// fw trust show: print a trust document and whether a threshold of its own root keys signed it.
import { parseCli, UsageError } from '../../../shared/src/cli/index.js';
import { parseTrustDocument } from '../bundle/trust-document.js';
import { isoSeconds } from '../bundle/time.js';
import { keyId } from '../../../shared/src/crypto/index.js';
import { keyRing, tallySignatures } from '../bundle/signature-set.js';
import { json, type Command } from './io.js';
import { readTrustFile } from './trust-files.js';

const HELP = `Usage: fw trust show trust.cbor [--json]

Prints a trust document: version, expiry, root and release keys with their thresholds, and each root
signature with its check against the document's own root keys. Use fw verify to check a chain.

Options:
  --json       print as JSON
  -h, --help   show this help`;

export const trustShow: Command = async (argv, io) => {
  const { values, positionals } = parseCli(argv, { json: { type: 'boolean' } }, HELP);
  if (positionals.length !== 1) throw new UsageError(`expected one trust document\n\n${HELP}`);
  const doc = parseTrustDocument(await readTrustFile(positionals[0]!, 'trust document'));
  const b = doc.body;
  const tally = tallySignatures(doc.set, keyRing(b.rootKeys));
  const view = {
    file: positionals[0],
    version: b.version,
    created: isoSeconds(b.created),
    expires: isoSeconds(b.expires),
    expired: io.now() / 1000 >= b.expires,
    rootKeys: b.rootKeys.map((k) => keyId(k)),
    rootThreshold: b.rootThreshold,
    releaseKeys: b.releaseKeys.map((k) => keyId(k)),
    releaseThreshold: b.releaseThreshold,
    signatures: tally.outcomes,
    selfSigned: tally.validKeys.length >= b.rootThreshold,
  };
  if (values.json) {
    io.out(json(view));
    return 0;
  }
  io.out(
    `${view.file}\n` +
      `  version        ${b.version}\n` +
      `  created        ${view.created}\n` +
      `  expires        ${view.expires}${view.expired ? '  (EXPIRED)' : ''}\n` +
      `  root keys      ${view.rootKeys.join(', ')} (threshold ${b.rootThreshold})\n` +
      `  release keys   ${view.releaseKeys.join(', ')} (threshold ${b.releaseThreshold})\n` +
      `  signatures     ${tally.outcomes.map((o) => `${o.keyId} ${o.outcome}`).join(', ')}\n` +
      `  self-signed    ${view.selfSigned ? 'yes' : 'NO: fewer valid root signatures than the threshold'}\n`,
  );
  return 0;
};
