// The coordinator's view of a device pool, whether it runs in this process or in a worker process.
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SimulatorError } from '../errors.js';
import type { FirmwareVerdict } from '../firmware-gate.js';
import { createDevicePool, type PoolFinal, type PoolReport, type PoolSpec } from '../device-pool.js';
import { REPORT_EVERY_MS, WORKER_COMMAND, type FromWorker, type ToWorker } from './protocol.js';

export interface PoolHandle {
  readonly index: number;
  readonly pid: number;
  /** Resolves once the pool has begun creating devices. */
  readonly started: Promise<void>;
  /** Rejects (SIM_WORKER_FAILED) when the pool's process dies or fails before stop() resolved. */
  readonly failed: Promise<never>;
  onReport(cb: (r: PoolReport) => void): void;
  measure(): void;
  cutoff(): void;
  cut(ms: number): void;
  offerFirmware(deviceId: string, bundle: Uint8Array): Promise<FirmwareVerdict>;
  stop(): Promise<PoolFinal>;
  /** Ends the pool at once (after a failure elsewhere). */
  kill(): void;
}

/** The pool in this process: for tests and small runs (--workers 0). */
export function localPool(spec: PoolSpec): PoolHandle {
  const pool = createDevicePool(spec);
  const listeners: ((r: PoolReport) => void)[] = [];
  const timer = setInterval(() => {
    const r = pool.report();
    for (const l of listeners) l(r);
  }, REPORT_EVERY_MS);
  timer.unref();
  return {
    index: spec.index,
    pid: process.pid,
    started: pool.start(),
    failed: new Promise<never>(() => {}),
    onReport: (cb) => void listeners.push(cb),
    measure: () => pool.measure(),
    cutoff: () => pool.cutoff(),
    cut: (ms) => pool.cut(ms),
    offerFirmware: (id, b) => pool.offerFirmware(id, b),
    async stop() {
      clearInterval(timer);
      const final = await pool.stop();
      for (const l of listeners) l(final.report);
      return final;
    },
    kill: () => clearInterval(timer),
  };
}

/**
 * The file that runs `fleet-sim`: the bundle itself (dist/fleet-sim.js) or, from source, simulator/src/main.ts
 * (the worker inherits this process's --import tsx).
 */
function simulatorEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? join(dirname(here), '..', 'main.ts') : here;
}

/** Node's flags without tsx's loader (--import tsx, --import=tsx, --loader tsx): a bundle needs none. */
export function withoutTsx(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if ((arg === '--import' || arg === '--loader' || arg === '--require') && execArgv[i + 1]?.startsWith('tsx')) i++;
    else if (!/^--(import|loader|require)=tsx/.test(arg)) out.push(arg);
  }
  return out;
}

/**
 * Gives every thread of process `pid` the nice value `priority`. Linux sets a nice value per thread, and
 * setpriority on a pid reaches only its main thread: the worker's garbage-collector and libuv threads, started
 * before the parent could set it, would stay at the default, and its main thread, at −5, would wait for them behind
 * everything else on the machine. Threads started later inherit from the thread that starts them. Without /proc,
 * only the main thread is set.
 */
export function setProcessPriority(pid: number, priority: number): void {
  setPriority(pid, priority);
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return;
  }
  for (const tid of tids) {
    try {
      setPriority(Number(tid), priority);
    } catch {
      // The thread ended meanwhile.
    }
  }
}

/**
 * A pool in its own worker process: its own core, its own 20,000 file descriptors. `script` is the file it runs
 * (default simulatorEntry()): a bundle runs without tsx's loader, whichever way this process was started.
 * `priority` is its nice value; when the system refuses it (below 0 without root), `onNote` says so and the worker
 * runs at this process's priority.
 */
export function workerPool(
  spec: PoolSpec,
  o: { script?: string | undefined; priority?: number | undefined; onNote?: ((line: string) => void) | undefined } = {},
): PoolHandle {
  const { script } = o;
  const child: ChildProcess = fork(script ?? simulatorEntry(), [WORKER_COMMAND], {
    execArgv: script?.endsWith('.js') ? withoutTsx(process.execArgv) : process.execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let refused = false;
  const prioritise = () => {
    if (o.priority === undefined || child.pid === undefined || refused) return;
    try {
      setProcessPriority(child.pid, o.priority);
    } catch (err) {
      refused = true;
      o.onNote?.(`simulator worker ${spec.index}: priority ${o.priority} refused (${(err as Error).message})`);
    }
  };
  prioritise();
  const listeners: ((r: PoolReport) => void)[] = [];
  const firmware = new Map<number, (v: FirmwareVerdict) => void>();
  let req = 0;
  let finished = false;
  let onStarted!: () => void;
  let onFinal!: (f: PoolFinal) => void;
  let fail!: (e: Error) => void;
  const started = new Promise<void>((r) => (onStarted = r));
  const final = new Promise<PoolFinal>((r) => (onFinal = r));
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {});
  const die = (why: string) => {
    if (finished) return;
    finished = true;
    fail(new SimulatorError('SIM_WORKER_FAILED', `simulator worker ${spec.index} (pid ${child.pid ?? '?'}) ${why}`));
  };

  child.on('message', (m: FromWorker) => {
    switch (m.type) {
      case 'started':
        // Again, now that the worker's threads are all running.
        prioritise();
        return onStarted();
      case 'report':
        for (const l of listeners) l(m.report);
        return;
      case 'firmware':
        firmware.get(m.req)?.(m.verdict);
        firmware.delete(m.req);
        return;
      case 'final':
        finished = true;
        for (const l of listeners) l(m.final.report);
        return onFinal(m.final);
      case 'failed':
        die(`failed: ${m.message}`);
        child.kill('SIGKILL');
        return;
    }
  });
  child.on('exit', (code, signal) => die(`exited early (${signal ?? `code ${code}`})`));
  child.on('error', (err) => die(`could not run: ${err.message}`));
  const post = (m: ToWorker) => {
    if (child.connected) child.send(m);
  };
  post({ type: 'start', spec });

  return {
    index: spec.index,
    get pid() {
      return child.pid ?? 0;
    },
    started: Promise.race([started, failed]),
    failed,
    onReport: (cb) => void listeners.push(cb),
    measure: () => post({ type: 'measure' }),
    cutoff: () => post({ type: 'cutoff' }),
    cut: (ms) => post({ type: 'cut', ms }),
    offerFirmware(deviceId, bundle) {
      const id = ++req;
      const answer = new Promise<FirmwareVerdict>((r) => firmware.set(id, r));
      post({ type: 'offer-firmware', req: id, deviceId, bundle });
      return Promise.race([answer, failed]);
    },
    stop() {
      post({ type: 'stop' });
      return Promise.race([final, failed]);
    },
    kill() {
      finished = true;
      child.kill('SIGKILL');
    },
  };
}
