// Signing keys inside a PKCS#11 token: Ed25519 (firmware release keys, API tokens) and ECDSA P-256 (the fleet CA).
// Keys generated here never leave the token: CKA_TOKEN, CKA_SENSITIVE true and CKA_EXTRACTABLE false.
import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { Pkcs11Error } from './errors.js';
import { call, openSession, pkcs11Lib, type Pkcs11Module } from './token.js';
import { parsePkcs11Uri, type Pkcs11Uri } from './uri.js';

export type Pkcs11Algorithm = 'ed25519' | 'p256';

export interface Pkcs11Key {
  readonly algorithm: Pkcs11Algorithm;
  /** Ed25519: the 32-byte key. P-256: the 65-byte uncompressed point. */
  readonly publicKey: Uint8Array;
  /** The public key as a node:crypto object (SPKI export, verification). */
  readonly publicKeyObject: KeyObject;
  /**
   * Signs `message` inside the token. Ed25519: pure EdDSA, 64 bytes. P-256: ECDSA over SHA-256(message), as r‖s
   * (64 bytes, the IEEE P1363 form WebCrypto and JOSE use). Each signature is checked against the public key
   * before it is returned, so a faulty token cannot hand out a bad one.
   */
  sign(message: Uint8Array): Uint8Array;
  /** Closes the session; the key stays in the token. */
  close(): void;
}

// PKCS#11 v3.0 values pkcs11js 2.1 does not name.
const CKK_EC_EDWARDS = 0x40;
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
// DER OIDs for CKA_EC_PARAMS: id-Ed25519 (RFC 8410) and prime256v1.
const ED25519_PARAMS = Buffer.from('06032b6570', 'hex');
// The same curve as a PrintableString, which SoftHSM2 reports back (PKCS#11 v3.0 §2.3.10 allows both forms).
const ED25519_NAMED = Buffer.concat([Buffer.from([0x13, 12]), Buffer.from('edwards25519')]);
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

type Template = { type: number; value?: number | boolean | string | Buffer }[];

const asUri = (uri: string | Pkcs11Uri): Pkcs11Uri => (typeof uri === 'string' ? parsePkcs11Uri(uri) : uri);

function selector(uri: Pkcs11Uri, cls: number): Template {
  const { CKA_CLASS, CKA_LABEL, CKA_ID } = pkcs11Lib();
  const t: Template = [{ type: CKA_CLASS, value: cls }];
  if (uri.object !== undefined) t.push({ type: CKA_LABEL, value: uri.object });
  if (uri.id !== undefined) t.push({ type: CKA_ID, value: Buffer.from(uri.id) });
  return t;
}

function findObjects(mod: Pkcs11Module, session: Buffer, template: Template): Buffer[] {
  return call('C_FindObjects', () => {
    mod.C_FindObjectsInit(session, template);
    try {
      return mod.C_FindObjects(session, 2);
    } finally {
      mod.C_FindObjectsFinal(session);
    }
  });
}

function describe(uri: Pkcs11Uri): string {
  const parts = [];
  if (uri.object !== undefined) parts.push(`object=${uri.object}`);
  if (uri.id !== undefined) parts.push(`id=${Buffer.from(uri.id).toString('hex')}`);
  return parts.join(';') || 'the URI';
}

/** CKA_EC_POINT is a DER OCTET STRING (PKCS#11 v3.0 §6.3.3); some tokens return the bare point. */
function unwrapPoint(value: Buffer, length: number): Buffer {
  if (value.length === length + 2 && value[0] === 0x04 && value[1] === length) return value.subarray(2);
  if (value.length === length) return value;
  throw new Pkcs11Error('PKCS11_UNSUPPORTED', `the token returned a ${value.length}-byte public point`);
}

function keyObject(algorithm: Pkcs11Algorithm, point: Buffer): KeyObject {
  const prefix = algorithm === 'ed25519' ? ED25519_SPKI_PREFIX : P256_SPKI_PREFIX;
  return createPublicKey({ key: Buffer.concat([prefix, point]), format: 'der', type: 'spki' });
}

function makeKey(mod: Pkcs11Module, session: Buffer, privateKey: Buffer, publicHandle: Buffer): Pkcs11Key {
  const { CKA_KEY_TYPE, CKA_EC_PARAMS, CKA_EC_POINT, CKK_EC, CKM_ECDSA } = pkcs11Lib();
  const [type, params] = call('C_GetAttributeValue', () =>
    mod.C_GetAttributeValue(session, privateKey, [{ type: CKA_KEY_TYPE }, { type: CKA_EC_PARAMS }]),
  );
  const keyType = type?.value === undefined ? -1 : (type.value as Buffer).readUInt32LE(0);
  let algorithm: Pkcs11Algorithm;
  const curve = params?.value as Buffer | undefined;
  if (keyType === CKK_EC_EDWARDS && (curve?.equals(ED25519_PARAMS) || curve?.equals(ED25519_NAMED)))
    algorithm = 'ed25519';
  else if (keyType === CKK_EC && curve?.equals(P256_PARAMS)) algorithm = 'p256';
  else throw new Pkcs11Error('PKCS11_UNSUPPORTED', 'the key is neither Ed25519 nor ECDSA P-256');
  const [pointAttr] = call('C_GetAttributeValue', () =>
    mod.C_GetAttributeValue(session, publicHandle, [{ type: CKA_EC_POINT }]),
  );
  const point = unwrapPoint(pointAttr?.value as Buffer, algorithm === 'ed25519' ? 32 : 65);
  const publicKeyObject = keyObject(algorithm, point);
  const mechanism = algorithm === 'ed25519' ? CKM_EDDSA : CKM_ECDSA;
  return {
    algorithm,
    publicKey: new Uint8Array(point),
    publicKeyObject,
    sign(message: Uint8Array): Uint8Array {
      const input = algorithm === 'ed25519' ? Buffer.from(message) : createHash('sha256').update(message).digest();
      const signature = call('C_Sign', () => {
        mod.C_SignInit(session, { mechanism }, privateKey);
        return mod.C_Sign(session, input, Buffer.alloc(64));
      });
      const ok =
        signature.length === 64 &&
        (algorithm === 'ed25519'
          ? verify(null, message, publicKeyObject, signature)
          : verify('sha256', message, { key: publicKeyObject, dsaEncoding: 'ieee-p1363' }, signature));
      if (!ok) throw new Pkcs11Error('PKCS11_FAILED', 'the token returned a signature that does not verify');
      return new Uint8Array(signature);
    },
    close() {
      try {
        mod.C_CloseSession(session);
      } catch {
        // already closed, or the token is gone: nothing left to release
      }
    },
  };
}

/** Opens the private key a URI names (object and/or id), with its public half. */
export function openPkcs11Key(uri: string | Pkcs11Uri, env?: NodeJS.ProcessEnv): Pkcs11Key {
  const u = asUri(uri);
  if (Object.keys(u.vendor).length > 0)
    throw new Pkcs11Error('PKCS11_URI_INVALID', `vendor attributes are not understood: ${Object.keys(u.vendor)}`);
  if (u.type !== undefined && u.type !== 'private')
    throw new Pkcs11Error('PKCS11_URI_INVALID', `a signing key has type=private, not type=${u.type}`);
  if (u.object === undefined && u.id === undefined)
    throw new Pkcs11Error('PKCS11_URI_INVALID', 'name the key with object= (its label) or id=');
  const { CKO_PRIVATE_KEY, CKO_PUBLIC_KEY } = pkcs11Lib();
  const { mod, session } = openSession(u, env);
  try {
    const found = findObjects(mod, session, selector(u, CKO_PRIVATE_KEY));
    const pub = findObjects(mod, session, selector(u, CKO_PUBLIC_KEY));
    if (found.length !== 1 || pub.length !== 1) {
      const what = found.length !== 1 ? 'private key' : 'public key';
      const n = found.length !== 1 ? found.length : pub.length;
      throw new Pkcs11Error(
        'PKCS11_KEY_NOT_FOUND',
        n === 0 ? `the token holds no ${what} with ${describe(u)}` : `several ${what}s match ${describe(u)}`,
      );
    }
    return makeKey(mod, session, found[0] as Buffer, pub[0] as Buffer);
  } catch (err) {
    mod.C_CloseSession(session);
    throw err;
  }
}

/**
 * Generates a key pair inside the token under the URI's object label (and id, or a random 8-byte one). The
 * private key is non-extractable and sensitive; a key already holding that label or id is never replaced.
 */
export function generatePkcs11Key(
  uri: string | Pkcs11Uri,
  algorithm: Pkcs11Algorithm,
  env?: NodeJS.ProcessEnv,
): Pkcs11Key {
  const u = asUri(uri);
  if (u.object === undefined) throw new Pkcs11Error('PKCS11_URI_INVALID', 'name the new key with object=LABEL');
  if (u.type !== undefined && u.type !== 'private')
    throw new Pkcs11Error('PKCS11_URI_INVALID', `a new key pair is named with type=private, not type=${u.type}`);
  const p = pkcs11Lib();
  const { mod, session } = openSession(u, env);
  try {
    for (const sel of [{ object: u.object }, ...(u.id !== undefined ? [{ id: u.id, vendor: {} }] : [])]) {
      const clash = findObjects(mod, session, selector({ vendor: {}, ...sel }, p.CKO_PRIVATE_KEY)).length > 0;
      const clashPub = findObjects(mod, session, selector({ vendor: {}, ...sel }, p.CKO_PUBLIC_KEY)).length > 0;
      if (clash || clashPub)
        throw new Pkcs11Error(
          'PKCS11_KEY_EXISTS',
          `the token already holds a key with ${describe({ vendor: {}, ...sel })}`,
        );
    }
    const id = Buffer.from(u.id ?? randomBytes(8));
    const ed = algorithm === 'ed25519';
    const common: Template = [
      { type: p.CKA_TOKEN, value: true },
      { type: p.CKA_LABEL, value: u.object },
      { type: p.CKA_ID, value: id },
    ];
    const keys = call('C_GenerateKeyPair', () =>
      mod.C_GenerateKeyPair(
        session,
        { mechanism: ed ? CKM_EC_EDWARDS_KEY_PAIR_GEN : p.CKM_EC_KEY_PAIR_GEN },
        [
          ...common,
          { type: p.CKA_VERIFY, value: true },
          { type: p.CKA_EC_PARAMS, value: ed ? ED25519_PARAMS : P256_PARAMS },
        ],
        [
          ...common,
          { type: p.CKA_PRIVATE, value: true },
          { type: p.CKA_SIGN, value: true },
          { type: p.CKA_SENSITIVE, value: true },
          { type: p.CKA_EXTRACTABLE, value: false },
        ],
      ),
    );
    return makeKey(mod, session, keys.privateKey, keys.publicKey);
  } catch (err) {
    mod.C_CloseSession(session);
    throw err;
  }
}
