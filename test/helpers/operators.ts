// Operators for tests: a registered operator with its credential (an Ed25519 private key, PEM) in memory, and
// API clients that act as them against a running fleet server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAdminService } from '../../broker/src/admin/local.js';
import { createApiClient, type ApiClient } from '../../broker/src/admin/api-client.js';
import type { TokenRequest } from '../../broker/src/api/proof.js';
import type { Role } from '../../broker/src/api/roles.js';
import type { Db } from '../../broker/src/db/open.js';
import { generateKeyPair, privateKeyToPem, publicKeyToPem } from '../../shared/src/index.js';

export interface TestOperator {
  readonly name: string;
  readonly role: Role;
  readonly credential: string;
  readonly kid: string;
}

/** Registers an operator straight in the database (as `fleet operator add --data` does). */
export async function addOperator(db: Db, name: string, role: Role): Promise<TestOperator> {
  const pair = generateKeyPair();
  const admin = createAdminService({ db, loadCa: () => Promise.reject(new Error('no CA needed')) }).forCaller({
    actor: 'test',
    devices: null,
  });
  const op = await admin.operators.add({ name, role, publicKey: publicKeyToPem(pair.publicKey) });
  return { name, role, credential: privateKeyToPem(pair.secretKey), kid: op.kid };
}

export function apiClientFor(
  dataDir: string,
  httpPort: number,
  who: { credential?: string; token?: string },
  tokenRequest?: TokenRequest,
): ApiClient {
  return createApiClient({
    server: `https://127.0.0.1:${httpPort}`,
    ca: readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8'),
    ...(who.credential ? { credential: who.credential } : {}),
    ...(who.token ? { token: who.token } : {}),
    ...(tokenRequest ? { tokenRequest } : {}),
  });
}
