// Key files: load Ed25519 PEM keys (ours or OpenSSL's) with typed errors, and write new key pairs with the
// private key at mode 0600, never overwriting an existing key unless asked to.
import { constants } from 'node:fs';
import { chmod, open, readFile, stat } from 'node:fs/promises';
import {
  KeyError,
  MAX_PEM_BYTES,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  privateKeyToPem,
  publicKeyToPem,
  type Ed25519KeyPair,
} from '../../shared/src/crypto/index.js';
import type { Signer } from './bundle/signature-set.js';
import { BundleError } from './errors.js';

function fromKeyError(err: unknown, path: string): never {
  if (err instanceof KeyError) {
    throw new BundleError(err.code === 'KEY_WEAK' ? 'FW_KEY_WEAK' : 'FW_KEY_INVALID', err.message, {
      cause: err,
      details: { path },
    });
  }
  throw err;
}

async function readKeyFile(path: string): Promise<Buffer> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > MAX_PEM_BYTES) throw new Error(`larger than ${MAX_PEM_BYTES} bytes`);
    return await readFile(path);
  } catch (err) {
    throw new BundleError('FW_KEY_INVALID', `cannot read key file ${path}: ${(err as Error).message}`, {
      cause: err,
      details: { path },
    });
  }
}

/** A private key file (PKCS#8 PEM) as a signer. */
export async function loadSigner(path: string): Promise<Signer> {
  const pem = await readKeyFile(path);
  try {
    return parsePrivateKeyPem(pem, path);
  } catch (err) {
    return fromKeyError(err, path);
  }
}

/** The public key of a key file: SPKI PEM, or the public half of a PKCS#8 private key. */
export async function loadPublicKey(path: string): Promise<Uint8Array> {
  const pem = await readKeyFile(path);
  try {
    return parsePublicKeyPem(pem, path);
  } catch (err) {
    return fromKeyError(err, path);
  }
}

/** Loads a key that may be private (returned as a signer) or public only. */
export async function loadKey(path: string): Promise<{ publicKey: Uint8Array; signer?: Signer }> {
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

async function writeExclusive(path: string, text: string, mode: number, force: boolean): Promise<void> {
  // O_EXCL refuses an existing file (or symlink); with --force, O_NOFOLLOW still refuses to follow a planted symlink.
  const flags =
    constants.O_WRONLY | constants.O_CREAT | (force ? constants.O_TRUNC | constants.O_NOFOLLOW : constants.O_EXCL);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, flags, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new BundleError('FW_KEY_EXISTS', `${path} already exists; pass --force to overwrite it`, {
        details: { path },
      });
    }
    throw new BundleError('FW_IO', `cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    // An existing file keeps its old mode when truncated, so set it explicitly.
    await chmod(path, mode);
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `path` (PKCS#8 PEM, mode 0600) and `path.pub` (SPKI PEM, mode 0644). */
export async function writeKeyPair(
  path: string,
  pair: Ed25519KeyPair,
  force = false,
): Promise<{ privatePath: string; publicPath: string }> {
  const publicPath = `${path}.pub`;
  if (!force) {
    // Check both before writing either, so a refusal leaves nothing half-written.
    for (const p of [path, publicPath]) {
      const exists = await stat(p).then(
        () => true,
        () => false,
      );
      if (exists)
        throw new BundleError('FW_KEY_EXISTS', `${p} already exists; pass --force to overwrite it`, {
          details: { path: p },
        });
    }
  }
  await writeExclusive(path, privateKeyToPem(pair.secretKey), 0o600, force);
  await writeExclusive(publicPath, publicKeyToPem(pair.publicKey), 0o644, force);
  return { privatePath: path, publicPath };
}
