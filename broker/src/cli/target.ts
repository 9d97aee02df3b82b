// Where a `fleet` command acts: on the server host's data folder (--data DIR) or through the operator API
// (--server URL --ca FILE with --credential FILE or a token in EDGEWARD_TOKEN). Commands print what the
// FleetAdmin returns, so the output is the same either way.
import { userInfo, hostname } from 'node:os';
import { isPkcs11Uri } from '../../../shared/src/pkcs11/index.js';
import { readRegularText, UsageError } from '../../../shared/src/index.js';
import { createApiClient } from '../admin/api-client.js';
import { createCliAdmin } from '../admin/cli-admin.js';
import { createRemoteAdmin } from '../admin/remote.js';
import type { FleetAdmin } from '../admin/types.js';
import type { TokenRequest } from '../api/proof.js';
import type { FleetConfig } from '../config.js';
import { folderKey, STORAGE_KEY_HELP, STORAGE_KEY_OPTION } from './storage-key.js';

/** The options every command that reads or changes the fleet accepts. */
export const TARGET_OPTIONS = {
  data: { type: 'string' },
  server: { type: 'string' },
  ca: { type: 'string' },
  credential: { type: 'string' },
  ...STORAGE_KEY_OPTION,
} as const;

export const TARGET_HELP = `  --data DIR          act on the server host's data folder directly
  --server URL        or act through the operator API (https://host:8443), with
  --ca FILE           the fleet CA certificate, and
  --credential FILE   the operator credential (fleet operator add), or a PKCS#11 URI of it in a token
                      (docs/hsm.md), or a token in EDGEWARD_TOKEN
${STORAGE_KEY_HELP}`;

export interface TargetValues {
  readonly data?: string | undefined;
  readonly server?: string | undefined;
  readonly ca?: string | undefined;
  readonly credential?: string | undefined;
  readonly 'storage-key'?: string | undefined;
}

/** Who the CLI acts as on the server host: the security event log and the audit trail name them. */
export const localActor = () => `${userInfo().username}@${hostname()}`;

/** Where a command acts, once its options are checked. */
export type Target =
  | { readonly kind: 'data'; readonly dir: string; readonly storageKeyFile: string | undefined }
  | {
      readonly kind: 'server';
      readonly server: string;
      /** PEM of the fleet CA, and the file it was read from. */
      readonly ca: string;
      readonly caFile: string;
      /** The operator credential (PEM, or a PKCS#11 URI), when given; else the token. */
      readonly credential: string | undefined;
      readonly token: string | undefined;
    };

/** Checks the target options (usage errors) and reads the files they name (FILE_IO). */
export function resolveTarget(values: TargetValues): Target {
  if (values.server !== undefined) {
    if (values.data !== undefined) throw new UsageError('give either --data DIR or --server URL, not both');
    if (values['storage-key'] !== undefined) throw new UsageError('--storage-key goes with --data DIR');
    if (!values.ca) throw new UsageError('--server needs --ca FILE (the fleet CA certificate)');
    const token = process.env.EDGEWARD_TOKEN;
    if (!values.credential && !token) {
      throw new UsageError('--server needs --credential FILE (or a token in EDGEWARD_TOKEN)');
    }
    return {
      kind: 'server',
      server: values.server,
      ca: readRegularText(values.ca, { maxBytes: 64 * 1024 }),
      caFile: values.ca,
      // A PKCS#11 URI names a key in a token (docs/hsm.md): passed on as it is, never read as a file.
      credential: values.credential
        ? isPkcs11Uri(values.credential)
          ? values.credential
          : readRegularText(values.credential, { maxBytes: 16 * 1024 })
        : undefined,
      token: values.credential ? undefined : token,
    };
  }
  if (values.credential !== undefined || values.ca !== undefined) {
    throw new UsageError('--ca and --credential go with --server URL');
  }
  if (values.data === undefined) throw new UsageError('give --data DIR (on the server host) or --server URL');
  return { kind: 'data', dir: values.data, storageKeyFile: values['storage-key'] };
}

export interface OpenOptions {
  /** What a token obtained with the credential asks for. */
  readonly tokenRequest?: TokenRequest;
  /** The server config for --data (the fleet audit's thresholds); through --server, the server's own applies. */
  readonly localConfig?: FleetConfig;
}

export function openTarget(target: Target, opts: OpenOptions = {}): FleetAdmin {
  if (target.kind === 'data') {
    return createCliAdmin(target.dir, localActor(), {
      ...(opts.localConfig ? { config: opts.localConfig } : {}),
      storageKey: folderKey(target.dir, target.storageKeyFile),
    });
  }
  return createRemoteAdmin(
    createApiClient({
      server: target.server,
      ca: target.ca,
      caFile: target.caFile,
      ...(target.credential ? { credential: target.credential } : {}),
      ...(target.token ? { token: target.token } : {}),
      ...(opts.tokenRequest ? { tokenRequest: opts.tokenRequest } : {}),
      retryRateLimited: true,
    }),
  );
}

export function openAdmin(values: TargetValues, opts: OpenOptions = {}): FleetAdmin {
  return openTarget(resolveTarget(values), opts);
}
