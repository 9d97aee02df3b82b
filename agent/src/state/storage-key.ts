// The agent's storage key (config `storage.key`): a root-only file, a systemd credential, or a PKCS#11 token.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AtRestError, readStorageKey, readStorageKeyFile, type StorageKey } from '../../../shared/src/index.js';
import { STATE_DB_FILE } from './db.js';
import type { AgentConfig } from '../config.js';

/**
 * The key that encrypts agent.db, or undefined when the config names none. Refuses an unusable key file
 * (AT_REST_KEY_INVALID), a systemd credential outside systemd (AT_REST_KEY_MISSING) and a token without the
 * key (PKCS11_*) before the state folder is touched. A token key is made on the first start (no agent.db yet).
 */
export function agentStorageKey(config: AgentConfig, env: NodeJS.ProcessEnv = process.env): StorageKey | undefined {
  const source = config.storage?.key;
  if (!source) return undefined;
  switch (source.source) {
    case 'file':
      return readStorageKeyFile(source.path, { notInside: [config.stateDir] });
    case 'systemd-credential': {
      const dir = env.CREDENTIALS_DIRECTORY;
      if (!dir) {
        throw new AtRestError(
          'AT_REST_KEY_MISSING',
          `storage.key names the systemd credential "${source.name}", but CREDENTIALS_DIRECTORY is not set: run the ` +
            `agent from its unit with LoadCredential=${source.name}:/etc/edgeward/storage.key (docs/agent-config.md)`,
        );
      }
      return readStorageKeyFile(join(dir, source.name), { notInside: [config.stateDir] });
    }
    case 'pkcs11':
      return readStorageKey(source.uri, {
        purpose: 'agent',
        create: !existsSync(join(config.stateDir, STATE_DB_FILE)),
      });
    default: {
      const never: never = source;
      throw new Error(`unknown storage key source ${JSON.stringify(never)}`);
    }
  }
}
