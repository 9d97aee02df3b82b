// A signature set: a CBOR array of COSE_Sign1 messages that all carry the same payload bytes, one per
// signing key, and the k-of-n tally over it (a key that signed twice counts once).
import { decode } from '../../../shared/src/cbor.js';
import { keyId, keyIdBytes, type SignatureCheck } from '../../../shared/src/crypto/index.js';
import { BundleError } from '../errors.js';
import { concatBytes, head } from './cbor-deterministic.js';
import {
  checkCoseSign1,
  COSE_SIGN1_TAG,
  parseCoseSign1,
  signCoseSign1,
  type CoseSign1,
  type FormatCode,
} from './cose-sign1.js';

/** More signatures than this are refused before any is checked. */
export const MAX_SIGNATURES = 16;

export interface SignatureSet {
  /** The signed payload: identical, byte for byte, in every signature. */
  readonly payload: Uint8Array;
  readonly signatures: readonly CoseSign1[];
}

/** A release or root key that can sign: a key file's secret key, or a key held in a token (PKCS#11). */
export type Signer =
  | { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array }
  | { readonly publicKey: Uint8Array; sign(message: Uint8Array): Uint8Array };

/** Encodes a signature set; the caller keeps signers distinct (duplicates are allowed here for testing). */
export function encodeSignatureSet(payload: Uint8Array, contentType: string, signers: readonly Signer[]): Uint8Array {
  if (signers.length === 0 || signers.length > MAX_SIGNATURES)
    throw new RangeError(`1 to ${MAX_SIGNATURES} signers are needed`);
  const messages = signers.map((s) => {
    const kid = keyIdBytes(s.publicKey);
    return signCoseSign1(
      payload,
      contentType,
      'sign' in s ? { sign: (m: Uint8Array) => s.sign(m), kid } : { secretKey: s.secretKey, kid },
    );
  });
  return concatBytes([head(4, messages.length), ...messages]);
}

export interface DecodeSetOptions {
  readonly contentType: string;
  readonly formatCode: FormatCode;
  readonly maxBytes: number;
  readonly what: string;
}

/** Decodes and structurally checks a signature set; checks no signature yet. */
export function decodeSignatureSet(bytes: Uint8Array, opts: DecodeSetOptions): SignatureSet {
  let value: unknown;
  try {
    value = decode(bytes, {
      maxBytes: opts.maxBytes,
      maxDepth: 6,
      maxItems: 1 + MAX_SIGNATURES * 32,
      textKeysOnly: false,
      allowedTags: new Set([COSE_SIGN1_TAG]),
    });
  } catch (err) {
    throw new BundleError(opts.formatCode, `${opts.what} is not well-formed CBOR: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw new BundleError(opts.formatCode, `${opts.what} must be a non-empty array of COSE_Sign1 messages`);
  }
  if (value.length > MAX_SIGNATURES) {
    throw new BundleError(
      opts.formatCode,
      `${opts.what} holds ${value.length} signatures; at most ${MAX_SIGNATURES} are accepted`,
    );
  }
  const signatures = value.map((item, i) => parseCoseSign1(item, `${opts.what}, signature ${i + 1}`, opts.formatCode));
  const first = signatures[0]!;
  for (const [i, s] of signatures.entries()) {
    if (s.contentType !== opts.contentType) {
      throw new BundleError(
        opts.formatCode,
        `${opts.what}, signature ${i + 1}: content type ${JSON.stringify(s.contentType)}, expected ${opts.contentType}`,
      );
    }
    if (!s.kid) throw new BundleError(opts.formatCode, `${opts.what}, signature ${i + 1}: no kid header parameter`);
    if (!Buffer.from(s.payload).equals(first.payload)) {
      throw new BundleError(opts.formatCode, `${opts.what}: signature ${i + 1} covers other bytes than signature 1`);
    }
  }
  return { payload: first.payload, signatures };
}

export type SignatureOutcome = SignatureCheck | 'unknown-key' | 'duplicate';

export interface Tally {
  /** Key ids of the distinct keys with a valid signature. */
  readonly validKeys: readonly string[];
  readonly outcomes: readonly { readonly keyId: string; readonly outcome: SignatureOutcome }[];
}

/** Checks every signature whose kid names a key in `keys` (key id → public key). */
export function tallySignatures(set: SignatureSet, keys: ReadonlyMap<string, Uint8Array>): Tally {
  const valid = new Set<string>();
  const outcomes = set.signatures.map((s) => {
    const id = Buffer.from(s.kid ?? new Uint8Array(0)).toString('hex');
    const publicKey = keys.get(id);
    if (!publicKey) return { keyId: id, outcome: 'unknown-key' as const };
    const result = checkCoseSign1(s, publicKey);
    if (result !== 'valid') return { keyId: id, outcome: result };
    if (valid.has(id)) return { keyId: id, outcome: 'duplicate' as const };
    valid.add(id);
    return { keyId: id, outcome: 'valid' as const };
  });
  return { validKeys: [...valid], outcomes };
}

/** Key id → key, refusing two keys with one id (the kid would be ambiguous). */
export function keyRing(publicKeys: readonly Uint8Array[]): Map<string, Uint8Array> {
  const ring = new Map<string, Uint8Array>();
  for (const k of publicKeys) ring.set(keyId(k), k);
  return ring;
}
