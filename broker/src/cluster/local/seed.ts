// The cluster's seed folder (DIR/seed): the fleet made as `fleet pki init` makes one, an admin operator whose
// credential is DIR/operator.key, and, with --devices N, simulator identities in DIR/seed/sim.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, privateKeyToPem, publicKeyToPem, writeSecret } from '../../../../shared/src/index.js';
import { createCliAdmin } from '../../admin/cli-admin.js';
import { localActor } from '../../cli/target.js';
import { DEFAULT_SANS, fleetPaths, initPki } from '../../fleet/data-dir.js';
import type { ClusterLayout, ClusterPlan } from './layout.js';
import { runSelf } from './self.js';

export const ADMIN_OPERATOR = 'cluster-admin';
export const SIM_PREFIX = 'sim-';

export const operatorKeyPath = (layout: ClusterLayout) => join(layout.root, 'operator.key');
export const simFolder = (layout: ClusterLayout) => join(layout.seed, 'sim');

/** As `fleet operator add cluster-admin --role admin --out DIR/operator.key` does (audited), in this process. */
async function addAdmin(layout: ClusterLayout): Promise<void> {
  const pair = generateKeyPair();
  const admin = createCliAdmin(layout.seed, localActor());
  try {
    // The credential is written first: a registered operator without its key would be useless.
    writeSecret(operatorKeyPath(layout), privateKeyToPem(pair.secretKey), true);
    await admin.operators.add({ name: ADMIN_OPERATOR, role: 'admin', publicKey: publicKeyToPem(pair.publicKey) });
  } finally {
    admin.close();
  }
}

export async function prepareSeed(layout: ClusterLayout, plan: ClusterPlan, devices: number): Promise<void> {
  if (!existsSync(fleetPaths(layout.seed).caCert)) {
    const extra = DEFAULT_SANS.some((s) => s.value === plan.host) ? [] : [{ type: 'ip' as const, value: plan.host }];
    await initPki(layout.seed, { sans: [...DEFAULT_SANS, ...extra] });
  }
  if (!existsSync(operatorKeyPath(layout))) await addAdmin(layout);
  if (devices > 0) {
    // The simulator's own ids and folder layout: `fleet-sim run --data DIR/seed --prefix sim-` finds them.
    const args = ['device', 'add', '--bulk', String(devices), '--prefix', SIM_PREFIX, '--data', layout.seed];
    runSelf([...args, '--out', simFolder(layout)], 'fleet device add --bulk');
  }
}
