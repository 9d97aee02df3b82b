// Waiting for a part of the local cluster to become healthy, bounded: on time-out a FLEET_CLUSTER_START that names
// the part and ends with the tail of its log, which is what a person needs to see why.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeSecret } from '../../../../shared/src/index.js';
import { FleetError } from '../../errors.js';
import type { ClusterLayout } from './layout.js';
import { isOurs, logTail } from './processes.js';

export function startFailure(layout: ClusterLayout, part: string, why: string): FleetError {
  return new FleetError(
    'FLEET_CLUSTER_START',
    `${part} ${why}; its log (${layout.logFile(part)}) ends:\n${logTail(layout, part)}`,
  );
}

/** Polls `healthy` until true; fails early when the process has exited, and after `ms` otherwise. */
export async function waitHealthy(
  layout: ClusterLayout,
  part: string,
  pid: number,
  healthy: () => Promise<boolean>,
  ms: number,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await healthy()) return;
    if (!isOurs(pid, layout)) throw startFailure(layout, part, 'exited while starting');
    if (Date.now() > deadline) throw startFailure(layout, part, `was not healthy within ${Math.round(ms / 1000)} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A generated password kept in `file` (0600), made on first use: nothing in the cluster is anonymous. */
export function passwordIn(file: string): string {
  if (!existsSync(file)) writeSecret(file, `${randomBytes(24).toString('base64url')}\n`);
  const text = readFileSync(file, 'utf8').trim();
  if (!/^[A-Za-z0-9_-]{16,}$/.test(text)) {
    throw new FleetError('FLEET_CLUSTER_STATE', `${file} does not hold a generated password; remove it to make one`);
  }
  return text;
}
