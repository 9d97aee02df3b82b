// Key files: load Ed25519 PEM keys (ours or OpenSSL's) with typed errors, and write new key pairs atomically with the
// private key at mode 0600, never overwriting an existing key unless asked to. Wherever a private key file is
// accepted, an RFC 7512 PKCS#11 URI is too: the key then stays in its token and signs there.
import { unlink } from 'node:fs/promises';
import { FileError, readRegularFile } from '../../shared/src/files.js';
import {
  KeyError,
  MAX_PEM_BYTES,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  privateKeyToPem,
  publicKeyToPem,
  type Ed25519KeyPair,
} from '../../shared/src/crypto/index.js';
import { generatePkcs11Key, isPkcs11Uri, openPkcs11Key, type Pkcs11Key } from '../../shared/src/pkcs11/index.js';
import type { Signer } from './bundle/signature-set.js';
import { BundleError } from './errors.js';
import { checkOutputPath, isPresent, writeOutputFile } from './output-file.js';

function fromKeyError(err: unknown, path: string): never {
  if (err instanceof KeyError) {
    throw new BundleError(err.code === 'KEY_WEAK' ? 'FW_KEY_WEAK' : 'FW_KEY_INVALID', err.message, {
      cause: err,
      details: { path },
    });
  }
  throw err;
}

/** Reads a key file at once: FW_IO when it is missing or not a regular file (a FIFO never blocks). */
async function readKeyFile(path: string): Promise<Buffer> {
  try {
    return readRegularFile(path, { maxBytes: MAX_PEM_BYTES });
  } catch (err) {
    if (err instanceof FileError && err.reason === 'too-large') {
      throw new BundleError('FW_KEY_INVALID', `${path} is larger than ${MAX_PEM_BYTES} bytes: not a PEM key`, {
        cause: err,
        details: { path },
      });
    }
    throw new BundleError('FW_IO', (err as Error).message, { cause: err, details: { path } });
  }
}

/** Opens an Ed25519 key in a token; a P-256 key there is refused as FW_KEY_INVALID (bundles are EdDSA only). */
function tokenSigner(uri: string): Signer {
  const key = openPkcs11Key(uri);
  return ed25519Only(key, uri);
}

function ed25519Only(key: Pkcs11Key, uri: string): Signer {
  if (key.algorithm !== 'ed25519') {
    key.close();
    throw new BundleError('FW_KEY_INVALID', `${uri} is a ${key.algorithm} key; release keys are Ed25519`);
  }
  return { publicKey: key.publicKey, sign: (message) => key.sign(message) };
}

/** A private key file (PKCS#8 PEM), or a PKCS#11 URI, as a signer. */
export async function loadSigner(path: string): Promise<Signer> {
  if (isPkcs11Uri(path)) return tokenSigner(path);
  const pem = await readKeyFile(path);
  try {
    return parsePrivateKeyPem(pem, path);
  } catch (err) {
    return fromKeyError(err, path);
  }
}

/** The public key of a key file: SPKI PEM, or the public half of a PKCS#8 private key. */
export async function loadPublicKey(path: string): Promise<Uint8Array> {
  if (isPkcs11Uri(path)) return tokenSigner(path).publicKey;
  const pem = await readKeyFile(path);
  try {
    return parsePublicKeyPem(pem, path);
  } catch (err) {
    return fromKeyError(err, path);
  }
}

/** Loads a key that may be private (returned as a signer) or public only. */
export async function loadKey(path: string): Promise<{ publicKey: Uint8Array; signer?: Signer }> {
  if (isPkcs11Uri(path)) {
    const signer = tokenSigner(path);
    return { publicKey: signer.publicKey, signer };
  }
  const pem = await readKeyFile(path);
  try {
    if (/-----BEGIN PRIVATE KEY-----/.test(pem.toString('utf8'))) {
      const signer = parsePrivateKeyPem(pem, path);
      return { publicKey: signer.publicKey, signer };
    }
    return { publicKey: parsePublicKeyPem(pem, path) };
  } catch (err) {
    return fromKeyError(err, path);
  }
}

const keyExists = (path: string) =>
  new BundleError('FW_KEY_EXISTS', `${path} already exists; pass --force to overwrite it`, { details: { path } });

/**
 * Writes `path` (PKCS#8 PEM, mode 0600) and `path.pub` (SPKI PEM, mode 0644), each atomically. Both paths are
 * checked before either is written, and the private key is removed again if its public half cannot be written,
 * so a refusal or a failure never leaves a key without its pair. Without `force` an existing file is never
 * replaced, even one that appears meanwhile; with it, a planted symlink is replaced, never followed.
 */
export async function writeKeyPair(
  path: string,
  pair: Ed25519KeyPair,
  force = false,
): Promise<{ privatePath: string; publicPath: string }> {
  const publicPath = `${path}.pub`;
  for (const p of [path, publicPath]) {
    await checkOutputPath(p);
    if (!force && (await isPresent(p))) throw keyExists(p);
  }
  await writeOutputFile(path, privateKeyToPem(pair.secretKey), { mode: 0o600, replace: force, exists: keyExists });
  try {
    await writeOutputFile(publicPath, publicKeyToPem(pair.publicKey), { replace: force, exists: keyExists });
  } catch (err) {
    await unlink(path).catch(() => undefined);
    throw err;
  }
  return { privatePath: path, publicPath };
}

/**
 * Generates a non-extractable Ed25519 key inside the token a PKCS#11 URI names, and writes only its public key
 * to `publicPath` (SPKI PEM, the format of FILE.pub). A key already holding that label is never replaced.
 */
export async function generateTokenKey(
  uri: string,
  publicPath: string,
  force = false,
): Promise<{ publicKey: Uint8Array; publicPath: string }> {
  await checkOutputPath(publicPath);
  if (!force && (await isPresent(publicPath))) throw keyExists(publicPath);
  const key = generatePkcs11Key(uri, 'ed25519');
  try {
    await writeOutputFile(publicPath, publicKeyToPem(key.publicKey), { replace: force, exists: keyExists });
  } finally {
    key.close();
  }
  return { publicKey: key.publicKey, publicPath };
}
