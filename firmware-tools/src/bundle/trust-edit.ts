// Making trust documents: the first version, and each next version (release keys added or removed, root
// rotated). Every result is checked with the same verifier a device runs before it is handed back.
import { equalBytes, keyId } from '../../../shared/src/crypto/index.js';
import { BundleError } from '../errors.js';
import type { Signer } from './signature-set.js';
import { type Clock, toSeconds } from './time.js';
import { updateTrust, verifyTrustDocument, type TrustState } from './trust-chain.js';
import { signTrustBody, TRUST_FORMAT, type TrustBody } from './trust-document.js';

export const DEFAULT_TRUST_LIFETIME_SECONDS = 365 * 86_400;

export interface CreateTrustOptions {
  /** Root keys that sign this first version (they are listed as root keys too). */
  readonly rootSigners: readonly Signer[];
  /** Further root public keys listed without signing now. */
  readonly extraRootKeys?: readonly Uint8Array[];
  readonly rootThreshold?: number;
  readonly releaseKeys: readonly Uint8Array[];
  readonly releaseThreshold?: number;
  readonly lifetimeSeconds?: number;
  readonly now?: Clock;
}

function distinct(keys: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const k of keys) if (!out.some((o) => equalBytes(o, k))) out.push(k);
  return out;
}

function distinctSigners(signers: readonly Signer[]): Signer[] {
  const out: Signer[] = [];
  for (const s of signers) if (!out.some((o) => equalBytes(o.publicKey, s.publicKey))) out.push(s);
  return out;
}

/** Version 1, signed by the given root keys; fails unless they meet the root threshold. */
export function createTrust(opts: CreateTrustOptions): Uint8Array {
  const now = toSeconds(opts.now);
  const rootKeys = distinct([...opts.rootSigners.map((s) => s.publicKey), ...(opts.extraRootKeys ?? [])]);
  const body: TrustBody = {
    format: TRUST_FORMAT,
    version: 1,
    created: now,
    expires: now + (opts.lifetimeSeconds ?? DEFAULT_TRUST_LIFETIME_SECONDS),
    rootKeys,
    rootThreshold: opts.rootThreshold ?? 1,
    releaseKeys: distinct(opts.releaseKeys),
    releaseThreshold: opts.releaseThreshold ?? 1,
  };
  const bytes = signTrustBody(body, distinctSigners(opts.rootSigners));
  verifyTrustDocument(bytes, { now: now * 1000 });
  return bytes;
}

export interface TrustChange {
  readonly rootKeys?: readonly Uint8Array[];
  readonly rootThreshold?: number;
  readonly releaseKeys?: readonly Uint8Array[];
  readonly releaseThreshold?: number;
}

export interface NextTrustOptions {
  /** Keys that sign the new version: a threshold of the current roots, and of the new roots on rotation. */
  readonly signers: readonly Signer[];
  readonly lifetimeSeconds?: number;
  readonly now?: Clock;
}

/** The next version (current + 1) with `change` applied, checked to chain from `current`. */
export function nextTrust(current: TrustState, change: TrustChange, opts: NextTrustOptions): Uint8Array {
  const now = toSeconds(opts.now);
  const body: TrustBody = {
    format: TRUST_FORMAT,
    version: current.version + 1,
    created: now,
    expires: now + (opts.lifetimeSeconds ?? DEFAULT_TRUST_LIFETIME_SECONDS),
    rootKeys: distinct(change.rootKeys ?? current.rootKeys),
    rootThreshold: change.rootThreshold ?? current.rootThreshold,
    releaseKeys: distinct(change.releaseKeys ?? [...current.releaseKeys.values()]),
    releaseThreshold: change.releaseThreshold ?? current.releaseThreshold,
  };
  const bytes = signTrustBody(body, distinctSigners(opts.signers));
  updateTrust(current, bytes, { now: now * 1000 });
  return bytes;
}

/** The release key list with `keys` added; FW_TRUST_INVALID when one is already listed. */
export function withReleaseKeys(current: TrustState, keys: readonly Uint8Array[]): Uint8Array[] {
  const list = [...current.releaseKeys.values()];
  for (const k of keys) {
    if (list.some((l) => equalBytes(l, k)))
      throw new BundleError('FW_TRUST_INVALID', `release key ${keyId(k)} is already listed`);
    list.push(k);
  }
  return list;
}

/** The release key list without `keys`; FW_TRUST_INVALID when one is not listed. */
export function withoutReleaseKeys(current: TrustState, keys: readonly Uint8Array[]): Uint8Array[] {
  let list = [...current.releaseKeys.values()];
  for (const k of keys) {
    const rest = list.filter((l) => !equalBytes(l, k));
    if (rest.length === list.length) throw new BundleError('FW_TRUST_INVALID', `release key ${keyId(k)} is not listed`);
    list = rest;
  }
  return list;
}
