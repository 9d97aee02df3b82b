// Opens the fleet store a URL names: sqlite:DIR (a fleet data folder, its storage key honoured) or
// postgres://… / postgresql://… (migrated on open). Anything else is refused with FLEET_STORE_URL.
import type { StorageKey } from '../../../shared/src/index.js';
import { FleetError } from '../errors.js';
import { dataFolderKey, storageKeyFileOf } from '../fleet/at-rest.js';
import { fleetPaths, openFleetDb } from '../fleet/data-dir.js';
import { openPostgresStore } from './postgres/store.js';
import { redactUrl } from './postgres/pool.js';
import { createSqliteStore } from './sqlite-store.js';
import type { FleetStore } from './types.js';

export interface OpenStoreOptions {
  /** For sqlite:DIR: the --storage-key file or PKCS#11 URI (default: EDGEWARD_STORAGE_KEY_FILE), or the key itself. */
  readonly storageKeyFile?: string | undefined;
  readonly storageKey?: StorageKey | undefined;
}

export type StoreUrl =
  | { readonly engine: 'sqlite'; readonly dir: string }
  | { readonly engine: 'postgres'; readonly url: string };

/** What a store URL names, checked before anything is opened; the message never repeats a password. */
export function parseStoreUrl(url: string): StoreUrl {
  if (url.startsWith('sqlite:')) {
    const dir = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (dir === '') throw new FleetError('FLEET_STORE_URL', 'sqlite: needs a data folder: sqlite:DIR');
    return { engine: 'sqlite', dir };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new FleetError('FLEET_STORE_URL', `the store URL ${redactUrl(url)} cannot be parsed`);
    }
    return { engine: 'postgres', url };
  }
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? '(none)';
  throw new FleetError(
    'FLEET_STORE_URL',
    `unsupported store URL scheme ${scheme}: use sqlite:DIR or postgres://user@host:port/database`,
  );
}

export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<FleetStore> {
  const target = parseStoreUrl(url);
  if (target.engine === 'postgres') return openPostgresStore(target.url);
  const key = opts.storageKey ?? dataFolderKey(target.dir, storageKeyFileOf(opts.storageKeyFile));
  return createSqliteStore(openFleetDb(target.dir, { storageKey: key }), {
    releasesDir: fleetPaths(target.dir).releases,
  });
}
