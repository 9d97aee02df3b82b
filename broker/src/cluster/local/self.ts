// Running the fleet CLI as a child: the bundled file, or the TypeScript entry under tsx, as this code runs.
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FleetError } from '../../errors.js';

/**
 * The fleet CLI, as this code runs: the fleet bundle beside this one (dist/fleet.js beside dist/fleet-sim.js, which
 * starts clusters for `fleet-sim demo --cluster`), or the fleet CLI's TypeScript entry under this process's tsx.
 */
export function selfCommand(): { command: string; prefix: string[] } {
  const here = fileURLToPath(import.meta.url);
  const fleet = here.endsWith('.ts') ? resolve(dirname(here), '../../main.ts') : join(dirname(here), 'fleet.js');
  // A debugger flag would make every child fight for the same inspector port.
  return {
    command: process.execPath,
    prefix: [...process.execArgv.filter((a) => !a.startsWith('--inspect')), fleet],
  };
}

/** Runs `fleet ARGS…` to completion; its error line becomes this one's. */
export function runSelf(args: readonly string[], what: string): void {
  const self = selfCommand();
  try {
    execFileSync(self.command, [...self.prefix, ...args], { stdio: 'pipe', timeout: 300_000 });
  } catch (err) {
    const e = err as { stderr?: Buffer };
    const line = `${e.stderr ?? ''}`.trim().split('\n').at(-1) ?? '';
    throw new FleetError('FLEET_CLUSTER_START', `${what} failed: ${line}`, { cause: err });
  }
}
