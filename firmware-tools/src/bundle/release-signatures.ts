// The bundle signature policy: a threshold of distinct release keys from the trust document, and when it is
// not met, the one reason code that explains best why (tampering first, then key and counting problems).
import { BundleError } from '../errors.js';
import { tallySignatures, type SignatureSet } from './signature-set.js';
import type { TrustState } from './trust-chain.js';

/** Returns the key ids of the distinct release keys that validly signed, or throws the reason. */
export function requireReleaseSignatures(set: SignatureSet, trust: TrustState): string[] {
  const tally = tallySignatures(set, trust.releaseKeys);
  const valid = tally.validKeys.length;
  const threshold = trust.releaseThreshold;
  if (valid >= threshold) return [...tally.validKeys];
  const details = { threshold, valid: tally.validKeys, signatures: tally.outcomes };
  const seen = (...outcomes: string[]) => tally.outcomes.filter((o) => outcomes.includes(o.outcome));
  const summary = `${valid} valid distinct release signature${valid === 1 ? '' : 's'} of ${threshold} required`;

  const malleable = seen('s-not-canonical', 'r-not-canonical', 'r-small-order');
  if (malleable.length > 0) {
    throw new BundleError(
      'FW_SIG_MALLEABLE',
      `signature by ${malleable[0]!.keyId} is non-canonical (${malleable[0]!.outcome}); ${summary}`,
      { details },
    );
  }
  const invalid = seen('mismatch', 'bad-length');
  if (invalid.length > 0) {
    throw new BundleError(
      'FW_SIG_INVALID',
      `signature by ${invalid[0]!.keyId} does not verify: the manifest was changed or the signature is ` +
        `corrupt; ${summary}`,
      {
        details,
      },
    );
  }
  const weak = seen('key-small-order', 'key-not-canonical');
  if (weak.length > 0)
    throw new BundleError('FW_KEY_WEAK', `release key ${weak[0]!.keyId} is weak; ${summary}`, { details });
  const duplicate = seen('duplicate');
  if (duplicate.length > 0) {
    throw new BundleError(
      'FW_DUPLICATE_SIGNER',
      `key ${duplicate[0]!.keyId} signed more than once and counts once; ${summary}`,
      { details },
    );
  }
  const unknown = seen('unknown-key');
  if (valid === 0 && unknown.length > 0) {
    throw new BundleError(
      'FW_UNKNOWN_KEY',
      `signed only by keys the trust document does not list (${unknown.map((u) => u.keyId).join(', ')})`,
      { details },
    );
  }
  throw new BundleError('FW_THRESHOLD', summary, { details });
}
