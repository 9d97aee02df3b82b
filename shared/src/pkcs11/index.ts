// Public face of the PKCS#11 layer: RFC 7512 URIs, and Ed25519 / P-256 signing keys that stay inside a token.
export { parsePkcs11Uri, isPkcs11Uri, MAX_URI_LENGTH, type Pkcs11Uri, type Pkcs11ObjectType } from './uri.js';
export { openPkcs11Key, generatePkcs11Key, type Pkcs11Key, type Pkcs11Algorithm } from './key.js';
export { MODULE_ENV } from './token.js';
export { Pkcs11Error, pkcs11Codes, type Pkcs11Code } from './errors.js';
