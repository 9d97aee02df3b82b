// Typed errors of the PKCS#11 layer: a bad URI, a token or key that cannot be found, a PIN refused.
import { defineCodes, EdgewardError } from '../errors.js';

export const pkcs11Codes = defineCodes({
  PKCS11_URI_INVALID:
    'The PKCS#11 URI does not follow RFC 7512 or names an attribute edgeward cannot honour; the message lists ' +
    'every problem.',
  PKCS11_MODULE: 'The PKCS#11 module (module-path) cannot be loaded or initialised.',
  PKCS11_TOKEN_NOT_FOUND: 'No token, or more than one, matches the URI (token, manufacturer, serial, model).',
  PKCS11_KEY_NOT_FOUND: 'No key, or more than one, in the token matches the URI (object, id).',
  PKCS11_KEY_EXISTS: 'The token already holds a key with that object label or id; pick another name.',
  PKCS11_PIN:
    'The token PIN is missing, unreadable, readable by other users (the pin-source file must be mode 0600), ' +
    'or refused by the token.',
  PKCS11_UNSUPPORTED: 'The key or token does not support what is asked: the key type, or the mechanism.',
  PKCS11_FAILED: 'The token refused an operation; the message names the PKCS#11 function and return value.',
});
export type Pkcs11Code = keyof typeof pkcs11Codes;

export class Pkcs11Error extends EdgewardError {
  declare readonly code: Pkcs11Code;
  constructor(code: Pkcs11Code, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}
