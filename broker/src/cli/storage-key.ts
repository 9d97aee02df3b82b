// --storage-key FILE|PKCS11-URI: the key of a data folder encrypted at rest (docs/encryption-at-rest.md), for every
// command that opens the folder. EDGEWARD_STORAGE_KEY_FILE names it when the flag is absent.
import type { StorageKey } from '../../../shared/src/index.js';
import { dataFolderKey, storageKeyFileOf } from '../fleet/at-rest.js';

export const STORAGE_KEY_OPTION = { 'storage-key': { type: 'string' } } as const;

export const STORAGE_KEY_HELP = `  --storage-key FILE|PKCS11-URI
                      the key of a data folder encrypted at rest (fleet pki init --encrypt-at-rest): a key
                      file kept outside it, or a secret key in a PKCS#11 token; default: what
                      EDGEWARD_STORAGE_KEY_FILE names.`;

/** The folder's key (undefined for a plain folder); a missing, invalid or wrong key is refused here. */
export function folderKey(dir: string, flag: string | undefined): StorageKey | undefined {
  return dataFolderKey(dir, storageKeyFileOf(flag));
}
