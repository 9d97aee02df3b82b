// Storage keys from a PKCS#11 token: the token holds a non-extractable 256-bit HMAC key, and the storage key is
// HMAC-SHA-256 of a fixed purpose string computed inside the token. Nothing is stored anywhere: the same token key
// gives the same storage key on every start, and without the token (and its PIN) there is none.
import { Pkcs11Error } from './errors.js';
import { call, openSession, pkcs11Lib } from './token.js';
import { parsePkcs11Uri, type Pkcs11Uri } from './uri.js';

export interface DeriveOptions {
  /** Generate the token key when none has the URI's label (`fleet pki init --encrypt-at-rest`). */
  readonly create?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

const KEY_BYTES = 32;

/**
 * 32 bytes derived inside the token from `purpose` with the secret key the URI names (object= label, or id=).
 * PKCS11_KEY_NOT_FOUND when no such key exists (and `create` is not set), PKCS11_KEY_EXISTS when the label is
 * ambiguous; the key's value never leaves the token.
 */
export function deriveFromToken(uri: string | Pkcs11Uri, purpose: string, opts: DeriveOptions = {}): Uint8Array {
  const u = typeof uri === 'string' ? parsePkcs11Uri(uri) : uri;
  if (u.object === undefined && u.id === undefined)
    throw new Pkcs11Error('PKCS11_URI_INVALID', 'name the storage key with object= (its label) or id=');
  if (u.type !== undefined && u.type !== 'secret-key')
    throw new Pkcs11Error('PKCS11_URI_INVALID', `a storage key has type=secret-key, not type=${u.type}`);
  const p = pkcs11Lib();
  const { mod, session } = openSession(u, opts.env);
  try {
    const template: { type: number; value: number | string | Buffer }[] = [
      { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
    ];
    if (u.object !== undefined) template.push({ type: p.CKA_LABEL, value: u.object });
    if (u.id !== undefined) template.push({ type: p.CKA_ID, value: Buffer.from(u.id) });
    const found = call('C_FindObjects', () => {
      mod.C_FindObjectsInit(session, template);
      try {
        return mod.C_FindObjects(session, 2);
      } finally {
        mod.C_FindObjectsFinal(session);
      }
    });
    if (found.length > 1)
      throw new Pkcs11Error('PKCS11_KEY_EXISTS', 'several secret keys match the URI: add id= to pick one');
    let key = found[0];
    const label = u.object;
    if (key === undefined) {
      if (!opts.create || label === undefined)
        throw new Pkcs11Error('PKCS11_KEY_NOT_FOUND', 'the token holds no secret key the URI names');
      key = call('C_GenerateKey', () =>
        mod.C_GenerateKey(session, { mechanism: p.CKM_GENERIC_SECRET_KEY_GEN }, [
          { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
          { type: p.CKA_KEY_TYPE, value: p.CKK_GENERIC_SECRET },
          { type: p.CKA_VALUE_LEN, value: KEY_BYTES },
          { type: p.CKA_LABEL, value: label },
          ...(u.id !== undefined ? [{ type: p.CKA_ID, value: Buffer.from(u.id) }] : []),
          { type: p.CKA_TOKEN, value: true },
          { type: p.CKA_PRIVATE, value: true },
          { type: p.CKA_SENSITIVE, value: true },
          { type: p.CKA_EXTRACTABLE, value: false },
          { type: p.CKA_SIGN, value: true },
          { type: p.CKA_VERIFY, value: true },
        ]),
      );
    }
    const handle = key;
    const mac = call('C_Sign', () => {
      mod.C_SignInit(session, { mechanism: p.CKM_SHA256_HMAC }, handle);
      return mod.C_Sign(session, Buffer.from(purpose, 'utf8'), Buffer.alloc(KEY_BYTES));
    });
    if (mac.length !== KEY_BYTES)
      throw new Pkcs11Error('PKCS11_FAILED', `the token returned a ${mac.length}-byte HMAC, not ${KEY_BYTES}`);
    const out = Uint8Array.from(mac);
    mac.fill(0);
    return out;
  } finally {
    try {
      mod.C_CloseSession(session);
    } catch {
      // the token is gone: nothing left to release
    }
  }
}
