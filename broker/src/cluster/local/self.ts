// Running this same fleet CLI as a child: the bundled file, or the TypeScript entry under tsx, as it was started.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { FleetError } from '../../errors.js';

export function selfCommand(): { command: string; prefix: string[] } {
  const script = process.argv[1];
  if (script === undefined) throw new Error('cannot tell how this fleet CLI was started');
  // A debugger flag would make every child fight for the same inspector port.
  return {
    command: process.execPath,
    prefix: [...process.execArgv.filter((a) => !a.startsWith('--inspect')), resolve(script)],
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
