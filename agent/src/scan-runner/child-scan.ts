// Runs the exposure scan in a short-lived child process (`iot-agent scan --format json`) and returns the
// report encoded for the exposure channel. The long-running agent never loads the scanner, so its memory
// stays small, and a scan that hangs or crashes is killed without touching the agent.
import { spawn } from 'node:child_process';
import { decodeExposure, encode } from '../../../shared/src/index.js';

export interface ChildScanOptions {
  readonly deviceId: string;
  readonly ports: string;
  readonly credentialChecks: boolean;
  /** --llm-probes (default: the scanner's own default, safe). */
  readonly llmProbes?: 'none' | 'safe' | 'all';
  readonly timeoutSeconds: number;
  /** The command that starts this same agent (defaults to this process's node, flags and entry file). */
  readonly command?: readonly string[];
}

const MAX_OUTPUT = 2 * 1024 * 1024;

export function scanInChild(opts: ChildScanOptions): Promise<Uint8Array> {
  const [cmd, ...base] = opts.command ?? [process.execPath, ...process.execArgv, process.argv[1]!];
  const args = [
    ...base,
    'scan',
    '--format',
    'json',
    '--ports',
    opts.ports,
    '--timeout',
    `${opts.timeoutSeconds}s`,
    '--device-id',
    opts.deviceId,
  ];
  if (!opts.credentialChecks) args.push('--no-credential-checks');
  if (opts.llmProbes !== undefined) args.push('--llm-probes', opts.llmProbes);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, EDGEWARD_LOG_LEVEL: 'warn' },
    });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_OUTPUT) child.kill('SIGKILL');
      else out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d).slice(-2000)));
    // The scan has its own budget; this only catches a child that ignores it.
    const timer = setTimeout(() => child.kill('SIGKILL'), (opts.timeoutSeconds + 15) * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0)
        return reject(new Error(`scan exited with ${code ?? signal}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
      try {
        // Re-validated like any input: the encoded report must pass the same decoder the fleet server uses.
        const bytes = encode(JSON.parse(Buffer.concat(out).toString('utf8')));
        decodeExposure(bytes);
        resolve(bytes);
      } catch (err) {
        reject(new Error(`the scan printed an invalid report: ${(err as Error).message}`));
      }
    });
  });
}
