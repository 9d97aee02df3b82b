// The local cluster's children: each a detached process group with its pid file in DIR/run and its output in
// DIR/logs, so `status` and `down` find them from another process, and a stale pid (reused by the system for
// something else) is not mistaken for one of them.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { writeFileSafe } from '../../../../shared/src/index.js';
import type { ClusterLayout } from './layout.js';

export interface SpawnSpec {
  readonly part: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

/** Starts `spec` in its own process group, output appended to its log; returns its pid (also in its pid file). */
export function spawnPart(layout: ClusterLayout, spec: SpawnSpec): number {
  mkdirSync(layout.logs, { recursive: true, mode: 0o700 });
  mkdirSync(layout.run, { recursive: true, mode: 0o700 });
  const log = openSync(layout.logFile(spec.part), 'a', 0o600);
  try {
    const child = spawn(spec.command, [...spec.args], {
      detached: true,
      stdio: ['ignore', log, log],
      env: spec.env ?? process.env,
    });
    if (child.pid === undefined) throw new Error(`${spec.command} could not be started`);
    child.on('error', () => {}); // reported through its log and health instead
    child.unref();
    writeFileSafe(layout.pidFile(spec.part), `${child.pid}\n`, { mode: 0o600, overwrite: true });
    return child.pid;
  } finally {
    closeSync(log);
  }
}

export function readPid(layout: ClusterLayout, part: string): number | undefined {
  try {
    const text = readFileSync(layout.pidFile(part), 'utf8').trim();
    return /^\d{1,9}$/.test(text) && Number(text) > 1 ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Alive and ours: every child names a path under the cluster folder on its command line. */
export function isOurs(pid: number, layout: ClusterLayout): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    // A zombie (exited, not yet reaped) has an empty command line: not running.
    return cmdline.includes(layout.root);
  } catch {
    return false;
  }
}

/** The pid of `part` when it runs, else undefined. */
export function runningPid(layout: ClusterLayout, part: string): number | undefined {
  const pid = readPid(layout, part);
  return pid !== undefined && isOurs(pid, layout) ? pid : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits up to `ms` for `pid` to end; true when it did. */
export async function waitGone(pid: number, layout: ClusterLayout, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isOurs(pid, layout)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig); // the whole group: a child's own children go too
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** `sig`, then SIGKILL to the group after `graceMs`; removes the pid file. Returns how it ended. */
export async function stopPart(
  layout: ClusterLayout,
  part: string,
  sig: NodeJS.Signals | (() => Promise<void>),
  graceMs: number,
): Promise<'not-running' | 'stopped' | 'killed'> {
  const pid = runningPid(layout, part);
  let outcome: 'not-running' | 'stopped' | 'killed' = 'not-running';
  if (pid !== undefined) {
    if (typeof sig === 'function') await sig().catch(() => signal(pid, 'SIGTERM'));
    else signal(pid, sig);
    outcome = 'stopped';
    if (!(await waitGone(pid, layout, graceMs))) {
      signal(pid, 'SIGKILL');
      await waitGone(pid, layout, 5000);
      outcome = 'killed';
    }
  }
  rmSync(layout.pidFile(part), { force: true });
  return outcome;
}

/** The last lines of a part's log, for an error that names why it did not start. */
export function logTail(layout: ClusterLayout, part: string, lines = 15): string {
  const file = layout.logFile(part);
  if (!existsSync(file)) return '(no log)';
  const size = statSync(file).size;
  const text = readFileSync(file, 'utf8').slice(Math.max(0, size - 8192));
  return text.trimEnd().split('\n').slice(-lines).join('\n') || '(empty log)';
}
