// Runs an external program (a peer such as mosquitto_pub or openssl) and captures everything it says.
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from './mosquitto.js';
import { join } from 'node:path';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly output: string;
}

/** Killed after `timeoutMs` (default 60 s, for hangs: CLIs run from source start slowly on a loaded machine). */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout.on('data', (d: Buffer) => ((stdout += d), (output += d)));
    child.stderr.on('data', (d: Buffer) => ((stderr += d), (output += d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output });
    });
    // A child that exits without reading its stdin must not crash the test with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** The esbuild bundle of each CLI entry (scripts/bundles.mjs). */
const BUNDLES: Record<string, string> = {
  'broker/src/main.ts': 'fleet.js',
  'agent/src/main.ts': 'iot-agent.js',
  'simulator/src/main.ts': 'fleet-sim.js',
};

/**
 * How to start a CLI of this project: its bundle, when the test runner (scripts/test.mjs) built them from this
 * source for this run and says where (EDGEWARD_TEST_BUNDLES) — 0.6 s a start instead of 3 s through tsx, and the
 * very file users run; otherwise its TypeScript source through tsx (a test file run by itself).
 */
export function cliArgs(entry: string): string[] {
  const dir = process.env.EDGEWARD_TEST_BUNDLES;
  const bundle = BUNDLES[entry];
  return dir && bundle ? [join(dir, bundle)] : ['--import', 'tsx', entry];
}

/** Runs a CLI of this project (its bundle built for this test run, or its TypeScript source). */
export function runCliSource(
  entry: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run(process.execPath, [...cliArgs(entry), ...args], { ...opts, env: { ...process.env, ...opts.env } });
}

export const fleetCli = (args: string[], opts?: Parameters<typeof runCliSource>[2]) =>
  runCliSource('broker/src/main.ts', args, opts);
export const agentCli = (args: string[], opts?: Parameters<typeof runCliSource>[2]) =>
  runCliSource('agent/src/main.ts', args, opts);

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly mqttPort: number;
  readonly httpPort: number;
  /** What it wrote to stderr so far (its log and any error line). */
  stderr(): string;
  /** Its exit code (null for a signal), once it has exited. */
  readonly exited: Promise<number | null>;
}

/** Starts `fleet serve` from the source on `dataDir` and free loopback ports; it is the caller's to stop. */
export async function startServeSource(dataDir: string, extra: string[] = []): Promise<ServeProcess> {
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const ports = [
    '--mqtt-port',
    String(mqttPort),
    '--http-port',
    String(httpPort),
    '--download-port',
    String(await freePort()),
  ];
  const child = spawn(
    process.execPath,
    [...cliArgs('broker/src/main.ts'), 'serve', '--data', dataDir, ...extra, ...ports],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { child, mqttPort, httpPort, stderr: () => stderr, exited };
}
