// Key options of the trust commands: load --root-key style options and check, before signing, that the
// private keys given can meet a threshold, so the operator learns which keys are missing.
import { UsageError } from '../../../shared/src/cli/index.js';
import { equalBytes, keyId } from '../../../shared/src/crypto/index.js';
import { MAX_SIGNATURES, type Signer } from '../bundle/signature-set.js';
import { isPkcs11Uri } from '../../../shared/src/pkcs11/index.js';
import { loadKey, loadPublicKey, loadSigner } from '../key-files.js';
import { requireFile } from './io.js';

export async function signersFrom(paths: readonly string[], flag: string): Promise<Signer[]> {
  const out: Signer[] = [];
  for (const p of paths) {
    if (!isPkcs11Uri(p)) await requireFile(p, flag);
    const s = await loadSigner(p);
    if (out.some((o) => equalBytes(o.publicKey, s.publicKey)))
      throw new UsageError(`${flag} ${p} repeats key ${keyId(s.publicKey)}`);
    out.push(s);
  }
  return out;
}

export async function publicKeysFrom(paths: readonly string[], flag: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const p of paths) {
    if (!isPkcs11Uri(p)) await requireFile(p, flag);
    const k = await loadPublicKey(p);
    if (out.some((o) => equalBytes(o, k))) throw new UsageError(`${flag} ${p} repeats key ${keyId(k)}`);
    out.push(k);
  }
  return out;
}

/** Keys that may be private (they sign) or public (they are only listed). */
export async function mixedKeysFrom(
  paths: readonly string[],
  flag: string,
): Promise<{ keys: Uint8Array[]; signers: Signer[] }> {
  const keys: Uint8Array[] = [];
  const signers: Signer[] = [];
  for (const p of paths) {
    if (!isPkcs11Uri(p)) await requireFile(p, flag);
    const k = await loadKey(p);
    if (keys.some((o) => equalBytes(o, k.publicKey)))
      throw new UsageError(`${flag} ${p} repeats key ${keyId(k.publicKey)}`);
    keys.push(k.publicKey);
    if (k.signer) signers.push(k.signer);
  }
  return { keys, signers };
}

/** UsageError when more keys would sign than a signature set holds. */
export function requireFewSigners(signers: readonly Signer[]): void {
  const distinct = signers.filter((s, i) => signers.findIndex((o) => equalBytes(o.publicKey, s.publicKey)) === i);
  if (distinct.length > MAX_SIGNATURES) {
    throw new UsageError(
      `${distinct.length} private keys would sign; a document holds at most ${MAX_SIGNATURES} signatures ` +
        `(the thresholds need fewer)`,
    );
  }
}

/** UsageError unless at least `threshold` of `keys` have a private key among `signers`. */
export function requireSigners(
  signers: readonly Signer[],
  keys: readonly Uint8Array[],
  threshold: number,
  what: string,
): void {
  const signing = keys.filter((k) => signers.some((s) => equalBytes(s.publicKey, k)));
  if (signing.length >= threshold) return;
  throw new UsageError(
    `${what}: ${signing.length} of the needed ${threshold} private keys were given (keys: ` +
      `${keys.map((k) => keyId(k)).join(', ')})`,
  );
}
