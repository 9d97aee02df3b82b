// A half-open TLS flood held by child processes: thousands of connections from many loopback source addresses,
// each stopped halfway through its ClientHello. Used by the flood test and bench/half-open-flood.ts.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface FloodOptions {
  readonly port: number;
  readonly host?: string;
  /** Connections to open in all (split over children of at most 15,000 each: a process holds 20,000 files). */
  readonly sockets: number;
  /** Loopback source addresses to spread them over (127.77.0.1, …). */
  readonly addresses: number;
  /** Connects in flight at once per child. */
  readonly concurrency?: number;
  /** New connections per second per child; 0 (the default): as fast as the kernel completes them. */
  readonly perSecond?: number;
  readonly connectTimeoutMs?: number;
  /** A child exits by itself after this long, whatever happens to its parent. */
  readonly lifetimeMs?: number;
}

export type FloodRequest = { readonly type: 'stats' } | { readonly type: 'stop' };

export interface FloodStats {
  /** Connections tried, and those the server accepted at TCP level. */
  readonly attempted: number;
  readonly connected: number;
  /** Accepted, then closed by the server (refused by a cap, evicted, or timed out). */
  readonly closedByServer: number;
  /** Never connected (refused, reset or timed out while connecting). */
  readonly failed: number;
  /** Open now, from the flood's side. */
  readonly held: number;
}

export interface Flood {
  /** Every connection has been tried; the sum over all children. */
  readonly ready: Promise<FloodStats & { ms: number }>;
  stats(): Promise<FloodStats>;
  stop(): Promise<FloodStats>;
}

const CHILD = fileURLToPath(new URL('./half-open-flood-child.ts', import.meta.url));
const PER_CHILD = 15_000;

function sum(all: FloodStats[]): FloodStats {
  const total = { attempted: 0, connected: 0, closedByServer: 0, failed: 0, held: 0 };
  for (const s of all) for (const k of Object.keys(total) as (keyof FloodStats)[]) total[k] += s[k];
  return total;
}

function ask(child: ChildProcess, request: FloodRequest, reply: string, timeoutMs = 30_000): Promise<FloodStats> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`flood child did not answer ${request.type}`)), timeoutMs);
    const onMessage = (m: { type: string; stats: FloodStats }) => {
      if (m.type !== reply) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m.stats);
    };
    child.on('message', onMessage);
    child.send(request);
  });
}

export function startHalfOpenFlood(opts: FloodOptions): Flood {
  const n = Math.max(1, Math.ceil(opts.sockets / PER_CHILD));
  const children: ChildProcess[] = [];
  const readies: Promise<FloodStats & { ms: number }>[] = [];
  for (let c = 0; c < n; c++) {
    const sockets = Math.floor(opts.sockets / n) + (c < opts.sockets % n ? 1 : 0);
    const childOpts: Required<FloodOptions> = {
      host: '127.0.0.1',
      concurrency: 200,
      perSecond: 0,
      connectTimeoutMs: 10_000,
      lifetimeMs: 120_000,
      ...opts,
      sockets,
    };
    const child = fork(CHILD, [JSON.stringify(childOpts)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    readies.push(
      new Promise((resolve, reject) => {
        child.on('message', (m: { type: string; stats: FloodStats; ms: number }) => {
          if (m.type === 'ready') resolve({ ...m.stats, ms: m.ms });
        });
        child.once('exit', (code) => reject(new Error(`flood child exited (${code}) before it was ready`)));
      }),
    );
  }
  // Every child exits with the parent, even if the test fails before calling stop().
  const killAll = () => {
    for (const c of children) c.kill('SIGKILL');
  };
  process.once('exit', killAll);
  return {
    ready: Promise.all(readies).then((all) => ({ ...sum(all), ms: Math.max(...all.map((r) => r.ms)) })),
    stats: async () => sum(await Promise.all(children.map((c) => ask(c, { type: 'stats' }, 'stats')))),
    async stop() {
      const live = children.filter((c) => c.exitCode === null && c.signalCode === null);
      const all = await Promise.all(live.map((c) => ask(c, { type: 'stop' }, 'stopped')));
      process.off('exit', killAll);
      return sum(all);
    },
  };
}
