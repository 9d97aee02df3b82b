// COSE_Sign1 (RFC 9052 §4.2) with EdDSA (RFC 9053 §2.2): strict header rules, and the Sig_structure built
// around the exact protected-header and payload bytes found in the input — never re-encoded.
import { Tag } from 'cbor-x';
import { decode } from '../../../shared/src/cbor.js';
import { checkSignature, sign, type SignatureCheck } from '../../../shared/src/crypto/index.js';
import { BundleError } from '../errors.js';
import { byteString, concatBytes, encodeCbor, head } from './cbor-deterministic.js';

export const COSE_SIGN1_TAG = 18;
/** RFC 9053 §2.2: EdDSA. */
export const ALG_EDDSA = -8;
/** RFC 9052 §3.1 common header parameter labels. */
export const HEADER = Object.freeze({ alg: 1, crit: 2, contentType: 3, kid: 4 });
const UNDERSTOOD = new Set<unknown>([HEADER.alg, HEADER.crit, HEADER.contentType, HEADER.kid]);
const MAX_PROTECTED_BYTES = 1024;
const MAX_KID_BYTES = 64;

export type FormatCode = 'FW_BAD_FORMAT' | 'FW_TRUST_INVALID';

export interface CoseSign1 {
  /** The protected header exactly as it appeared inside its byte string. */
  readonly protectedBytes: Uint8Array;
  readonly protectedHeader: ReadonlyMap<unknown, unknown>;
  readonly unprotectedHeader: ReadonlyMap<unknown, unknown>;
  /** The payload exactly as it appeared inside its byte string. */
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  readonly kid: Uint8Array | undefined;
  readonly contentType: string | number | undefined;
}

const isLabel = (k: unknown): boolean => (typeof k === 'number' && Number.isSafeInteger(k)) || typeof k === 'string';

/**
 * Checks a decoded COSE_Sign1 item (a cbor-x Tag) and its headers. Throws BundleError: `formatCode` for a
 * malformed structure, FW_BAD_ALG unless alg is EdDSA in the protected header, FW_CRIT_UNSUPPORTED for crit.
 */
export function parseCoseSign1(item: unknown, where: string, formatCode: FormatCode = 'FW_BAD_FORMAT'): CoseSign1 {
  const fail = (msg: string): never => {
    throw new BundleError(formatCode, `${where}: ${msg}`);
  };
  if (!(item instanceof Tag) || item.tag !== COSE_SIGN1_TAG) fail('expected a COSE_Sign1 message (CBOR tag 18)');
  const value = (item as Tag).value as unknown;
  if (!Array.isArray(value) || value.length !== 4) fail('a COSE_Sign1 message is an array of 4 items (RFC 9052 §4.2)');
  const [protectedBytes, unprotected, payload, signature] = value as unknown[];
  if (!(protectedBytes instanceof Uint8Array)) fail('the protected header is not a byte string');
  if (!(unprotected instanceof Map)) fail('the unprotected header is not a map');
  if (payload === null || payload === undefined)
    fail('detached payloads are not used here; the payload must be attached');
  if (!(payload instanceof Uint8Array)) fail('the payload is not a byte string');
  if (!(signature instanceof Uint8Array)) fail('the signature is not a byte string');
  const pBytes = protectedBytes as Uint8Array;
  const uHeader = unprotected as Map<unknown, unknown>;

  let pHeader: Map<unknown, unknown> = new Map();
  if (pBytes.length > 0) {
    let decoded: unknown;
    try {
      decoded = decode(pBytes, {
        maxBytes: MAX_PROTECTED_BYTES,
        maxDepth: 4,
        maxItems: 256,
        textKeysOnly: false,
        allowedTags: new Set(),
      });
    } catch (err) {
      throw new BundleError(formatCode, `${where}: the protected header is not valid CBOR: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (!(decoded instanceof Map)) fail('the protected header does not encode a map');
    pHeader = decoded as Map<unknown, unknown>;
  }
  for (const [bucket, map] of [
    ['protected', pHeader],
    ['unprotected', uHeader],
  ] as const) {
    for (const key of map.keys()) {
      if (!isLabel(key)) fail(`the ${bucket} header has a label that is neither an integer nor a text string`);
      if (bucket === 'unprotected' && pHeader.has(key))
        fail(`header parameter ${String(key)} appears in both buckets (RFC 9052 §3)`);
    }
  }

  // RFC 9052 §3.1 alg; we require it protected so that it is covered by the signature.
  const alg = pHeader.get(HEADER.alg);
  if (alg === undefined) {
    throw new BundleError(
      'FW_BAD_ALG',
      `${where}: ${uHeader.has(HEADER.alg) ? 'alg must be in the protected header' : 'no alg header parameter'}`,
    );
  }
  if (alg !== ALG_EDDSA) {
    throw new BundleError(
      'FW_BAD_ALG',
      `${where}: algorithm ${JSON.stringify(alg)} is not accepted; only EdDSA (-8) is`,
      { details: { alg } },
    );
  }
  if (uHeader.has(HEADER.crit)) fail('crit must be in the protected header (RFC 9052 §3.1)');
  const crit = pHeader.get(HEADER.crit);
  if (crit !== undefined) {
    if (!Array.isArray(crit) || crit.length === 0 || !crit.every(isLabel))
      fail('crit must be a non-empty array of labels');
    for (const label of crit as unknown[]) {
      if (!UNDERSTOOD.has(label)) {
        throw new BundleError(
          'FW_CRIT_UNSUPPORTED',
          `${where}: header parameter ${JSON.stringify(label)} is marked critical and is not understood`,
          {
            details: { label },
          },
        );
      }
      if (!pHeader.has(label)) fail(`crit lists ${JSON.stringify(label)}, which is not in the protected header`);
    }
  }
  const kid = pHeader.get(HEADER.kid) ?? uHeader.get(HEADER.kid);
  if (kid !== undefined && (!(kid instanceof Uint8Array) || kid.length === 0 || kid.length > MAX_KID_BYTES)) {
    fail(`kid must be a byte string of 1 to ${MAX_KID_BYTES} bytes`);
  }
  const contentType = pHeader.get(HEADER.contentType) ?? uHeader.get(HEADER.contentType);
  if (
    contentType !== undefined &&
    typeof contentType !== 'string' &&
    !(typeof contentType === 'number' && Number.isSafeInteger(contentType) && contentType >= 0)
  ) {
    fail('content type must be a text string or an unsigned integer');
  }
  return {
    protectedBytes: pBytes,
    protectedHeader: pHeader,
    unprotectedHeader: uHeader,
    payload: payload as Uint8Array,
    signature: signature as Uint8Array,
    kid: kid as Uint8Array | undefined,
    contentType: contentType as string | number | undefined,
  };
}

/** Decodes one tagged COSE_Sign1 message from bytes (as in the cose-wg examples). */
export function decodeCoseSign1(bytes: Uint8Array, maxBytes = 64 * 1024): CoseSign1 {
  let item: unknown;
  try {
    item = decode(bytes, { maxBytes, textKeysOnly: false, allowedTags: new Set([COSE_SIGN1_TAG]) });
  } catch (err) {
    throw new BundleError('FW_BAD_FORMAT', `not a COSE_Sign1 message: ${(err as Error).message}`, { cause: err });
  }
  return parseCoseSign1(item, 'COSE_Sign1');
}

/** RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad, payload], exact bytes wrapped. */
export function sigStructure1(
  protectedBytes: Uint8Array,
  payload: Uint8Array,
  externalAad: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return concatBytes([
    head(4, 4),
    encodeCbor('Signature1'),
    byteString(protectedBytes),
    byteString(externalAad),
    byteString(payload),
  ]);
}

/** Strictly verifies a parsed COSE_Sign1 with an Ed25519 public key; says why when it fails. */
export function checkCoseSign1(msg: CoseSign1, publicKey: Uint8Array, externalAad?: Uint8Array): SignatureCheck {
  return checkSignature(msg.signature, sigStructure1(msg.protectedBytes, msg.payload, externalAad), publicKey);
}

/** Signs with a secret key, or through `sign` (a key inside a token that never hands out its secret). */
export type CoseSigner =
  | { readonly secretKey: Uint8Array; readonly kid: Uint8Array }
  | { sign(toBeSigned: Uint8Array): Uint8Array; readonly kid: Uint8Array };

/** Signs `payload` as a tagged COSE_Sign1 with alg, content type and kid in the protected header. */
export function signCoseSign1(payload: Uint8Array, contentType: string, signer: CoseSigner): Uint8Array {
  const protectedBytes = encodeCbor(
    new Map<number, string | number | Uint8Array>([
      [HEADER.alg, ALG_EDDSA],
      [HEADER.contentType, contentType],
      [HEADER.kid, signer.kid],
    ]),
  );
  const toBeSigned = sigStructure1(protectedBytes, payload);
  const signature = 'sign' in signer ? signer.sign(toBeSigned) : sign(toBeSigned, signer.secretKey);
  return concatBytes([
    head(6, COSE_SIGN1_TAG),
    head(4, 4),
    byteString(protectedBytes),
    head(5, 0),
    byteString(payload),
    byteString(signature),
  ]);
}
