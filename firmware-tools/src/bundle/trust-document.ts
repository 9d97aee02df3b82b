// The trust document: a CBOR body naming root keys, release keys and their thresholds, with a version
// and an expiry, wrapped in a signature set of root-key COSE_Sign1 signatures. Parsing checks no signature.
import { decode } from '../../../shared/src/cbor.js';
import { checkPublicKey, keyId } from '../../../shared/src/crypto/index.js';
import { array, bytes, formatIssues, literal, object, validate } from '../../../shared/src/schema.js';
import { BundleError } from '../errors.js';
import { encodeCbor } from './cbor-deterministic.js';
import { uint } from './schema-extra.js';
import { decodeSignatureSet, encodeSignatureSet, type SignatureSet, type Signer } from './signature-set.js';

export const TRUST_CONTENT_TYPE = 'application/vnd.edgeward.trust+cbor';
export const TRUST_FORMAT = 1;
export const MAX_TRUST_BYTES = 256 * 1024;
export const MAX_ROOT_KEYS = 16;
export const MAX_RELEASE_KEYS = 64;

const key = bytes({ minLength: 32, maxLength: 32 });
const trustSchema = object({
  format: literal(TRUST_FORMAT),
  version: uint({ min: 1 }),
  created: uint(),
  expires: uint(),
  rootKeys: array(key, { minItems: 1, maxItems: MAX_ROOT_KEYS }),
  rootThreshold: uint({ min: 1, max: MAX_ROOT_KEYS }),
  releaseKeys: array(key, { minItems: 1, maxItems: MAX_RELEASE_KEYS }),
  releaseThreshold: uint({ min: 1, max: MAX_RELEASE_KEYS }),
});

/** What the root keys sign. Times are whole seconds since the epoch. */
export interface TrustBody {
  readonly format: typeof TRUST_FORMAT;
  /** Strictly increasing, by exactly one per change. */
  readonly version: number;
  readonly created: number;
  readonly expires: number;
  readonly rootKeys: readonly Uint8Array[];
  readonly rootThreshold: number;
  readonly releaseKeys: readonly Uint8Array[];
  readonly releaseThreshold: number;
}

export interface TrustDocument {
  readonly body: TrustBody;
  readonly set: SignatureSet;
  /** The document exactly as read (what a device persists). */
  readonly bytes: Uint8Array;
}

/** Schema, thresholds within the key counts, distinct keys and key ids, strong keys (FW_KEY_WEAK otherwise). */
export function checkTrustBody(value: unknown): TrustBody {
  const result = validate(trustSchema, value);
  if (!result.ok)
    throw new BundleError('FW_TRUST_INVALID', `trust document: ${formatIssues(result.issues)}`, {
      details: { issues: result.issues },
    });
  const body = result.value as TrustBody;
  const problems: string[] = [];
  if (body.expires <= body.created) problems.push('expires must be after created');
  if (body.rootThreshold > body.rootKeys.length)
    problems.push(`rootThreshold ${body.rootThreshold} exceeds the ${body.rootKeys.length} root keys`);
  if (body.releaseThreshold > body.releaseKeys.length) {
    problems.push(`releaseThreshold ${body.releaseThreshold} exceeds the ${body.releaseKeys.length} release keys`);
  }
  for (const [role, keys] of [
    ['root', body.rootKeys],
    ['release', body.releaseKeys],
  ] as const) {
    const ids = new Set(keys.map((k) => keyId(k)));
    if (ids.size !== keys.length) problems.push(`${role} keys repeat a key (or a key id)`);
  }
  if (problems.length > 0) throw new BundleError('FW_TRUST_INVALID', `trust document: ${problems.join('; ')}`);
  for (const [role, keys] of [
    ['root', body.rootKeys],
    ['release', body.releaseKeys],
  ] as const) {
    for (const k of keys) {
      const check = checkPublicKey(k);
      if (check !== 'valid') {
        throw new BundleError(
          'FW_KEY_WEAK',
          `trust document: ${role} key ${keyId(k)} is ` +
            `${check === 'key-small-order' ? 'a small-order point' : 'not a canonical point'}`,
          {
            details: { role, keyId: keyId(k) },
          },
        );
      }
    }
  }
  return body;
}

export function encodeTrustBody(body: TrustBody): Uint8Array {
  const b = checkTrustBody(body);
  return encodeCbor({ ...b, rootKeys: [...b.rootKeys], releaseKeys: [...b.releaseKeys] });
}

/** Signs a trust body with root keys (the caller checks that they meet the thresholds). */
export function signTrustBody(body: TrustBody, signers: readonly Signer[]): Uint8Array {
  return encodeSignatureSet(encodeTrustBody(body), TRUST_CONTENT_TYPE, signers);
}

/** Decodes the structure and body of a trust document; no signature is checked here. */
export function parseTrustDocument(bytes: Uint8Array): TrustDocument {
  const set = decodeSignatureSet(bytes, {
    contentType: TRUST_CONTENT_TYPE,
    formatCode: 'FW_TRUST_INVALID',
    maxBytes: MAX_TRUST_BYTES,
    what: 'trust document',
  });
  let value: unknown;
  try {
    value = decode(set.payload, { maxBytes: MAX_TRUST_BYTES, maxDepth: 3, maxItems: 512 });
  } catch (err) {
    throw new BundleError('FW_TRUST_INVALID', `trust document body is not a CBOR map: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { body: checkTrustBody(value), set, bytes };
}
