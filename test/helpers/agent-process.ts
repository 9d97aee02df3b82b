// Runs the agent as a real child process from its TypeScript source (node --import tsx agent/src/main.ts run),
// so tests can SIGKILL it mid-stream and start it again on the same state folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliArgs } from './run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface AgentProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): Promise<number | string>;
}

/** Writes `config` as JSON next to the device's credentials and returns the file's path. */
export function writeAgentConfig(deviceDir: string, config: Record<string, unknown>, name = 'agent.json'): string {
  const file = join(deviceDir, name);
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

export function startAgentProcess(configFile: string, args: string[] = []): AgentProcess {
  const child = spawn(process.execPath, [...cliArgs('agent/src/main.ts'), 'run', '--config', configFile, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    child,
    output: () => out,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
