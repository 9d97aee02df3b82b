// Error codes of encryption at rest (AT_REST_*): the storage key and the files sealed under it.
import { defineCodes, EdgewardError } from '../errors.js';

export const atRestCodes = defineCodes({
  AT_REST_KEY_MISSING:
    'The folder is encrypted at rest and no storage key was given: pass --storage-key FILE or set ' +
    'EDGEWARD_STORAGE_KEY_FILE (the agent: `storage.key` in its config).',
  AT_REST_KEY_INVALID:
    'The storage key file is unusable: not 64 hex digits, readable by others than its owner (needs mode 0600), ' +
    'or inside the folder it protects.',
  AT_REST_KEY_WRONG: 'The storage key does not open this folder: it is another key than the one it was encrypted with.',
  AT_REST_SEALED_FILE: 'A sealed key file is damaged or truncated, or has an unknown header version.',
  AT_REST_NOT_ENCRYPTED:
    'A storage key was given for a folder that is not encrypted at rest; drop it, or give the folder it belongs to.',
});
export type AtRestCode = keyof typeof atRestCodes;

export class AtRestError extends EdgewardError {
  declare readonly code: AtRestCode;
  constructor(code: AtRestCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
