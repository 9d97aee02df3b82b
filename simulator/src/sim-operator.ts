// The simulator's own operator, for reading the server view through the operator API when no --credential is
// given: a viewer registered once in the fleet data folder it runs on (as `fleet operator add --data` does, so
// the audit trail records it), its credential kept in DIR/sim/operator.key, made on this machine.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createCliAdmin } from '../../broker/src/admin/cli-admin.js';
import { localActor } from '../../broker/src/cli/target.js';
import {
  ensurePrivateDir,
  generateKeyPair,
  keyId,
  parsePrivateKeyPem,
  privateKeyToPem,
  publicKeyToPem,
  readRegularText,
  writeSecret,
} from '../../shared/src/index.js';
import { fleetPaths } from '../../broker/src/fleet/data-dir.js';
import { SimulatorError } from './errors.js';
import { simDir } from './identities.js';
import type { ResolvedOptions } from './options.js';
import type { ServerViewOptions } from './server-view.js';

/** The operator's name; `fleet-sim-<key id>` when that name is held by another key (a lost credential file). */
export const SIM_OPERATOR = 'fleet-sim';

/** Where the credential is kept. */
export const simCredentialPath = (dataDir: string) => join(simDir(dataDir), 'operator.key');

/**
 * The simulator's credential (PEM), made and registered as a viewer in the data folder the first time. A viewer
 * reads everything the view needs (telemetry, reports, events, commands) and can change nothing.
 */
export async function ensureSimOperator(dataDir: string): Promise<string> {
  const file = simCredentialPath(dataDir);
  let pem: string;
  if (existsSync(file)) {
    pem = readRegularText(file, { maxBytes: 16 * 1024 });
  } else {
    ensurePrivateDir(simDir(dataDir));
    pem = privateKeyToPem(generateKeyPair().secretKey);
    writeSecret(file, pem);
  }
  const pair = parsePrivateKeyPem(pem, file);
  const kid = keyId(pair.publicKey);
  const admin = createCliAdmin(dataDir, localActor());
  try {
    const operators = await admin.operators.list();
    const mine = operators.find((op) => op.kid === kid);
    if (mine?.status === 'revoked') {
      throw new SimulatorError(
        'SIM_SERVER_API',
        `the simulator's operator ${mine.name} (key ${kid}) was revoked; remove ${file} to register a new one, or ` +
          'give --credential FILE of another operator',
      );
    }
    if (!mine) {
      const taken = operators.some((op) => op.name === SIM_OPERATOR);
      await admin.operators.add({
        name: taken ? `${SIM_OPERATOR}-${kid}` : SIM_OPERATOR,
        role: 'viewer',
        publicKey: publicKeyToPem(pair.publicKey),
      });
    }
    return pem;
  } finally {
    admin.close();
  }
}

/** Where and as whom the server view is read: the options given, else the data folder's CA and own operator. */
export async function serverViewOptions(o: ResolvedOptions): Promise<ServerViewOptions> {
  return {
    url: o.serverApi,
    ca: o.ca ?? readRegularText(fleetPaths(o.dataDir).caCert, { maxBytes: 64 * 1024 }),
    credential: o.credential ?? (await ensureSimOperator(o.dataDir)),
  };
}
