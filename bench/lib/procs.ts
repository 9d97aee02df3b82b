// Process helpers for benchmarks: start a server, wait for its port, read peak RSS, stop it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Bundles one CLI (`fleet-sim`, …) from this checkout into a folder of this process's own under the repository's
 * .tmp/ (where the native addons left out of the bundle resolve from node_modules), removed when the process ends;
 * returns the bundle's path. Never a stale dist/, and never one another bench or test is rebuilding meanwhile.
 */
export function freshBundle(name: string): string {
  const dir = join(root, '.tmp', `bench-${name}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [`${root}scripts/build.mjs`, '--quiet', '--only', name, '--outdir', dir], {
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`building ${name} failed`);
  return join(dir, `${name}.js`);
}

/** What dist/ is built from: the packages' sources, the dashboard, the build scripts and the lock file. */
const BUILD_INPUTS = ['agent', 'broker', 'shared', 'simulator', 'firmware-tools', 'scripts', 'package-lock.json'];
const NOT_BUILD_INPUTS = new Set(['node_modules', 'dist', 'test', '.tmp']);

/**
 * The first file under `inputs` (paths relative to `base`) modified after `built`, or undefined when none is: a
 * bundle older than its sources would run yesterday's code.
 */
export function newerInput(built: string, inputs: readonly string[], base = root): string | undefined {
  const since = statSync(built).mtimeMs;
  const walk = (path: string): string | undefined => {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (!st.isDirectory()) return st.mtimeMs > since ? path : undefined;
    for (const entry of readdirSync(path)) {
      if (NOT_BUILD_INPUTS.has(entry)) continue;
      const found = walk(join(path, entry));
      if (found) return found;
    }
    return undefined;
  };
  for (const input of inputs) {
    const found = walk(join(base, input));
    if (found) return found;
  }
  return undefined;
}

/** Why dist/ must be built again, or undefined when it is current. */
function rebuildReason(bundle: string): string | undefined {
  if (!existsSync(bundle)) return 'dist/ is missing';
  if (process.env.BENCH_REBUILD) return 'BENCH_REBUILD is set';
  const newer = newerInput(bundle, BUILD_INPUTS);
  return newer && `${newer.slice(root.length)} is newer than dist/fleet.js`;
}

/** Builds dist/ when it is missing, older than any of its sources, or BENCH_REBUILD is set. */
export function ensureBuilt(): void {
  const why = rebuildReason(`${root}dist/fleet.js`);
  if (!why) return;
  console.error(`building dist/ (${why}) …`);
  const r = spawnSync(process.execPath, [`${root}scripts/build.mjs`, '--quiet'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('build failed');
}

export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, host);
      c.once('connect', () => (c.destroy(), resolve(true)));
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Proc {
  readonly child: ChildProcess;
  output(): string;
  /** Peak resident set size so far (VmHWM), in bytes. */
  peakRss(): number;
  rss(): number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function startProc(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const status = (field: string) => {
    try {
      const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  };
  return {
    child,
    output: () => out,
    peakRss: () => status('VmHWM'),
    rss: () => status('VmRSS'),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/** The median of some runs' figures (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const h = Math.floor(v.length / 2);
  return v.length % 2 ? v[h]! : (v[h - 1]! + v[h]!) / 2;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Runs a command to its end; its stderr (progress) passes through, its stdout is returned. */
export function runToEnd(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

/** The 1-minute load average, to note how busy the machine was. */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return 0;
  }
}

/**
 * Runs `fleet ARGS` (dist/fleet.js, or another build's bundle) to its end; throws with its stderr when it fails;
 * returns its stdout.
 */
export function fleetSync(args: string[], bundle = `${root}dist/fleet.js`): string {
  const r = spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fleet ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** The machine's CPU time so far, busy and total, in clock ticks (/proc/stat's first line). */
function cpuTicks(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const t = fields.map(Number);
  const total = t.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - t[3]! - t[4]!, total }; // idle and iowait are not busy
}

/**
 * Waits until the whole machine has been under `busyBelow` (a share of all cores) for a 2 s stretch, or `maxMs`
 * has passed; the seconds it waited. Between the sizes of a bench: the last run's teardown (tens of thousands of
 * sessions ending in Redis and PostgreSQL) must not be measured as the next run's latency.
 */
export async function waitForQuiet(o: { busyBelow?: number; maxMs?: number } = {}): Promise<number> {
  const started = Date.now();
  if (!existsSync('/proc/stat')) return 0;
  for (;;) {
    const a = cpuTicks();
    await new Promise((r) => setTimeout(r, 2000));
    const b = cpuTicks();
    const busy = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    if (busy < (o.busyBelow ?? 0.25) || Date.now() - started > (o.maxMs ?? 120_000)) {
      return Math.round((Date.now() - started) / 1000);
    }
  }
}

/**
 * `fleet serve` on ports the kernel chooses (port 0), started once it logs that it listens; its MQTT port is read from
 * that line. No port is probed beforehand, so none can be taken by another process (a test running beside) between
 * the probe and the bind, and a port that answers is always this server's.
 */
export async function startServe(o: { data: string; config?: string; timeoutMs?: number }) {
  const proc = startProc(process.execPath, [
    ...serveArgs({
      data: o.data,
      mqttPort: 0,
      httpPort: 0,
      logLevel: 'info',
      ...(o.config ? { config: o.config } : {}),
    }),
    ...['--download-port', '0'],
  ]);
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    const listening = /"fleet server listening".*"mqtt":"mqtts:\/\/[^"]*:(\d+)"/.exec(proc.output());
    if (listening) return { proc, mqttPort: Number(listening[1]) };
    if (proc.child.exitCode !== null || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await proc.stop();
  throw new Error(`fleet serve did not start listening:\n${proc.output().slice(-2000)}`);
}

/** The node arguments that start `fleet serve` (dist/fleet.js) on a bench's data folder and ports. */
export function serveArgs(o: {
  data: string;
  mqttPort: number;
  httpPort: number;
  config?: string;
  logLevel?: 'error' | 'warn' | 'info';
}): string[] {
  return [
    `${root}dist/fleet.js`,
    'serve',
    ...['--data', o.data, '--mqtt-port', String(o.mqttPort), '--http-port', String(o.httpPort)],
    ...(o.config ? ['--config', o.config] : []),
    ...['--log-level', o.logLevel ?? 'error'],
  ];
}

/** Per-device rate limits above any load a bench offers: it measures the cost of checking, not throttling. */
export const UNTHROTTLED_DEVICES = {
  default: {
    messagesPerSecond: 1e5,
    burstMessages: 1e5,
    bytesPerSecond: 1e8,
    burstBytes: 1e8,
    disconnectAfterSeconds: 60,
  },
} as const;
