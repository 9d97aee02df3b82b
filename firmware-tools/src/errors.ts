// Typed errors of the firmware tools and the bundle verifier: one stable code per rejection reason.
import { defineCodes, EdgewardError } from '../../shared/src/errors.js';

export const bundleCodes = defineCodes({
  FW_BAD_FORMAT: 'The file is not an edgeward firmware bundle or trust document: bad magic, header or COSE structure.',
  FW_TRUNCATED: 'The file ends before its header (the signed manifest) is complete.',
  FW_BAD_ALG: 'A signature does not declare the EdDSA algorithm (-8) in its protected header.',
  FW_CRIT_UNSUPPORTED: 'A signature marks a header parameter critical that the verifier does not understand.',
  FW_SIG_INVALID: 'A signature does not verify: the manifest was changed after signing, or the signature is corrupt.',
  FW_SIG_MALLEABLE: 'A signature is non-canonical (S not below the group order, or R non-canonical or of small order).',
  FW_KEY_INVALID: 'A key file is not an Ed25519 PKCS#8 or SPKI PEM key, or a private key was needed.',
  FW_KEY_WEAK: 'A public key is a small-order point or a non-canonical encoding; it is never trusted.',
  FW_KEY_EXISTS: 'The key file already exists; pass --force to overwrite it.',
  FW_UNKNOWN_KEY: 'The bundle is signed only by keys that the trust document does not list as release keys.',
  FW_DUPLICATE_SIGNER: 'The threshold is reached only by counting a key that signed twice; it counts once.',
  FW_THRESHOLD: 'Fewer distinct release keys signed the bundle than the trust document requires.',
  FW_MANIFEST_INVALID: 'The signed manifest does not match the manifest schema; details list every problem.',
  FW_FORMAT_VERSION: 'The manifest declares a format version this verifier does not speak.',
  FW_WRONG_HARDWARE: 'The bundle is built for another hardware id than this device.',
  FW_EXPIRED: 'The manifest has expired.',
  FW_ROLLBACK: 'The bundle sequence number is not above the installed one (rollback or replay).',
  FW_AGENT_TOO_OLD: 'The bundle needs a newer agent version than the one running.',
  FW_PAYLOAD_SHORT: 'The payload ends before the size the manifest declares.',
  FW_PAYLOAD_LONG: 'The payload continues past the size the manifest declares; reading stopped one byte after it.',
  FW_PAYLOAD_DIGEST: 'The payload SHA-256 differs from the signed manifest: the payload was changed.',
  FW_PAYLOAD_CHANGED: 'The payload file changed while it was being signed; sign it again.',
  FW_IO:
    'A file could not be read or written, or a bundle stream failed: an input missing or not a regular file, an ' +
    'output on a folder, a special file system, or a read-only or full disk.',
  FW_TRUST_INVALID:
    'The trust document, or a requested change to it, is malformed: schema, thresholds above the key ' +
    'counts, repeated keys.',
  FW_TRUST_SIGNATURE: 'The trust document is not signed by a threshold of its own root keys.',
  FW_TRUST_CHAIN:
    'The trust document does not chain: it skips a version or lacks a threshold of the previous root keys.',
  FW_TRUST_ROLLBACK: 'The trust document version is not above the one already trusted.',
  FW_TRUST_EXPIRED: 'The trust document has expired.',
});
export type BundleCode = keyof typeof bundleCodes;

export class BundleError extends EdgewardError {
  declare readonly code: BundleCode;
  constructor(code: BundleCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}
