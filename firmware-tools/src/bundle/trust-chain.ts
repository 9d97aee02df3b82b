// Trust decisions: a document is trusted when a threshold of its own root keys signed it and, when it
// replaces another, a threshold of the previous root keys too (TUF-style root rotation, one version at a time).
import { keyId } from '../../../shared/src/crypto/index.js';
import { BundleError, type BundleCode } from '../errors.js';
import { keyRing, tallySignatures } from './signature-set.js';
import { type Clock, isoSeconds, toSeconds } from './time.js';
import { parseTrustDocument, type TrustDocument } from './trust-document.js';

/** A verified trust document, ready for bundle verification and for the next update. */
export interface TrustState {
  readonly version: number;
  readonly created: number;
  readonly expires: number;
  readonly rootKeys: readonly Uint8Array[];
  readonly rootThreshold: number;
  /** Key id (hex) → release public key. */
  readonly releaseKeys: ReadonlyMap<string, Uint8Array>;
  readonly releaseThreshold: number;
  /** The document bytes, to persist and to hand to the next `updateTrust`. */
  readonly document: Uint8Array;
}

/** The root public key(s) a device ships with; `threshold` defaults to all of them. */
export interface TrustAnchor {
  readonly rootKeys: readonly Uint8Array[];
  readonly threshold?: number;
}

export interface TrustCheckOptions {
  /** Injected clock (ms since the epoch or a Date); defaults to the real clock. */
  readonly now?: Clock;
  /** Accept an expired document (only for intermediate links of a chain, or for operator tools). */
  readonly allowExpired?: boolean;
}

function requireRoots(
  doc: TrustDocument,
  keys: readonly Uint8Array[],
  threshold: number,
  code: BundleCode,
  what: string,
): void {
  const tally = tallySignatures(doc.set, keyRing(keys));
  if (tally.validKeys.length >= threshold) return;
  throw new BundleError(
    code,
    `trust document version ${doc.body.version} ${what}: ${tally.validKeys.length} valid of ${threshold} required`,
    {
      details: { version: doc.body.version, threshold, valid: tally.validKeys, signatures: tally.outcomes },
    },
  );
}

function requireUnexpired(doc: TrustDocument, opts: TrustCheckOptions): void {
  if (opts.allowExpired) return;
  const now = toSeconds(opts.now);
  if (now >= doc.body.expires) {
    throw new BundleError(
      'FW_TRUST_EXPIRED',
      `trust document version ${doc.body.version} expired at ${isoSeconds(doc.body.expires)}`,
      {
        details: { version: doc.body.version, expires: doc.body.expires, now },
      },
    );
  }
}

function toState(doc: TrustDocument): TrustState {
  const b = doc.body;
  return Object.freeze({
    version: b.version,
    created: b.created,
    expires: b.expires,
    rootKeys: Object.freeze([...b.rootKeys]),
    rootThreshold: b.rootThreshold,
    releaseKeys: new Map(b.releaseKeys.map((k) => [keyId(k), k] as const)),
    releaseThreshold: b.releaseThreshold,
    document: doc.bytes,
  });
}

/**
 * Trusts a single document: a threshold of its own root keys must have signed it, and of the anchor's keys
 * when an anchor (the root key a device ships with) is given. Without an anchor the document is taken as given.
 */
export function verifyTrustDocument(
  bytes: Uint8Array,
  opts: TrustCheckOptions & { anchor?: TrustAnchor } = {},
): TrustState {
  const doc = parseTrustDocument(bytes);
  if (opts.anchor) {
    const threshold = opts.anchor.threshold ?? opts.anchor.rootKeys.length;
    if (threshold < 1 || threshold > opts.anchor.rootKeys.length)
      throw new RangeError('anchor threshold must be within 1..number of anchor keys');
    requireRoots(doc, opts.anchor.rootKeys, threshold, 'FW_TRUST_CHAIN', 'is not signed by the shipped root keys');
  }
  requireRoots(
    doc,
    doc.body.rootKeys,
    doc.body.rootThreshold,
    'FW_TRUST_SIGNATURE',
    'is not signed by its own root keys',
  );
  requireUnexpired(doc, opts);
  return toState(doc);
}

/** Accepts the next trust document only if it is exactly one version newer and signed by both root sets. */
export function updateTrust(current: TrustState, next: Uint8Array, opts: TrustCheckOptions = {}): TrustState {
  const doc = parseTrustDocument(next);
  const v = doc.body.version;
  if (v <= current.version) {
    throw new BundleError(
      'FW_TRUST_ROLLBACK',
      `trust document version ${v} is not above the trusted version ${current.version}`,
      {
        details: { version: v, current: current.version },
      },
    );
  }
  if (v !== current.version + 1) {
    throw new BundleError(
      'FW_TRUST_CHAIN',
      `trust document version ${v} skips ahead of version ${current.version}; apply version ` +
        `${current.version + 1} first`,
      {
        details: { version: v, current: current.version },
      },
    );
  }
  requireRoots(
    doc,
    current.rootKeys,
    current.rootThreshold,
    'FW_TRUST_CHAIN',
    `is not signed by the root keys of version ${current.version}`,
  );
  requireRoots(
    doc,
    doc.body.rootKeys,
    doc.body.rootThreshold,
    'FW_TRUST_SIGNATURE',
    'is not signed by its own root keys',
  );
  requireUnexpired(doc, opts);
  return toState(doc);
}

/**
 * Walks a chain of trust documents, oldest first, from an anchor (or from the first document as given).
 * Only the newest document has to be unexpired, as in TUF: older links may have expired since.
 */
export function resolveTrustChain(
  documents: readonly Uint8Array[],
  opts: TrustCheckOptions & { anchor?: TrustAnchor } = {},
): TrustState {
  if (documents.length === 0) throw new RangeError('at least one trust document is needed');
  const last = documents.length - 1;
  let state = verifyTrustDocument(documents[0]!, { ...opts, allowExpired: last > 0 || opts.allowExpired === true });
  for (let i = 1; i <= last; i++) {
    state = updateTrust(state, documents[i]!, { ...opts, allowExpired: i < last || opts.allowExpired === true });
  }
  return state;
}

/** FW_TRUST_EXPIRED unless the state is still valid at `now`. */
export function requireTrustCurrent(trust: TrustState, now: Clock): void {
  const t = toSeconds(now);
  if (t >= trust.expires) {
    throw new BundleError(
      'FW_TRUST_EXPIRED',
      `trust document version ${trust.version} expired at ${isoSeconds(trust.expires)}; install a newer one`,
      {
        details: { version: trust.version, expires: trust.expires, now: t },
      },
    );
  }
}
