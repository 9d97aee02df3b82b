// Probe connections: a bounded slot per open socket, a byte cap on everything read, and deadline-aware waits.
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { ScanEnv, TlsConnectOptions } from '../env.js';
import type { Limiter } from '../limit.js';
import type { LlmOptions } from '../probes/llm.js';
import type { ProbeTarget } from '../types.js';

export interface ProbeContext {
  readonly env: ScanEnv;
  readonly limiter: Limiter;
  /** Longest any single exchange may wait. */
  readonly probeTimeoutMs: number;
  /** How long a fresh connection waits for a server-first banner. */
  readonly bannerWaitMs: number;
  /** After the first reply bytes, how long silence means "that is the whole reply". */
  readonly idleMs: number;
  /** Most bytes kept from one connection; the rest is dropped and the socket closed. */
  readonly maxReadBytes: number;
  readonly credentialChecks: boolean;
  /** The llm.* probes: level, per-endpoint budget and pacing (default: safe, 20 s). */
  readonly llm?: LlmOptions;
  /** Milliseconds left in the whole scan's budget. */
  remaining(): number;
}

/** The time one exchange may take: the probe timeout, or less when the scan budget is nearly spent. */
export function budget(ctx: ProbeContext, ms = ctx.probeTimeoutMs): number {
  return Math.max(0, Math.min(ms, ctx.remaining()));
}

export class ScanTimeout extends Error {
  constructor() {
    super('the scan time budget is spent');
  }
}

export interface WaitResult {
  readonly data: Buffer;
  /** The predicate held. */
  readonly ok: boolean;
  readonly closed: boolean;
  readonly timedOut: boolean;
}

/** One open probe connection. Every byte it reads is kept (up to the cap) for the probe to parse. */
export class Conn {
  private buf = Buffer.alloc(0);
  private ended = false;
  private err: string | undefined;
  private wake: (() => void) | undefined;
  private released = false;

  constructor(
    readonly socket: Duplex,
    private readonly maxBytes: number,
    private readonly release: () => void,
  ) {
    socket.on('data', (chunk: Buffer) => {
      const room = this.maxBytes - this.buf.length;
      if (room > 0) this.buf = Buffer.concat([this.buf, chunk.subarray(0, room)]);
      if (this.buf.length >= this.maxBytes) {
        // Hostile or huge reply: keep the capped prefix, stop reading.
        this.ended = true;
        socket.destroy();
      }
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.err = e.code ?? e.message;
      end();
    });
  }

  get received(): Buffer {
    return this.buf;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Error code (or message) the socket failed with, if any. */
  get error(): string | undefined {
    return this.err;
  }

  get tls(): TLSSocket {
    return this.socket as TLSSocket;
  }

  write(data: Buffer | string): void {
    if (!this.ended && !this.socket.destroyed) this.socket.write(data);
  }

  /** Drops the first `n` received bytes (after a probe has parsed them). */
  consume(n: number): void {
    this.buf = this.buf.subarray(Math.min(n, this.buf.length));
  }

  /**
   * Waits until `done(received)` holds, the peer closes, or `timeoutMs` passes. With `idleMs`, a pause that
   * long after some bytes arrived also ends the wait (the reply is taken to be complete).
   */
  waitFor(done: (data: Buffer) => boolean, timeoutMs: number, idleMs?: number): Promise<WaitResult> {
    return new Promise((resolve) => {
      let idleTimer: NodeJS.Timeout | undefined;
      const finish = (timedOut: boolean) => {
        clearTimeout(timer);
        clearTimeout(idleTimer);
        this.wake = undefined;
        resolve({ data: this.buf, ok: safe(done, this.buf), closed: this.ended, timedOut });
      };
      const check = () => {
        if (safe(done, this.buf) || this.ended) return finish(false);
        if (idleMs !== undefined && this.buf.length > 0) {
          clearTimeout(idleTimer);
          idleTimer = setTimeout(() => finish(false), idleMs);
        }
      };
      const timer = setTimeout(() => finish(true), Math.max(0, timeoutMs));
      this.wake = check;
      check();
    });
  }

  close(): void {
    this.socket.destroy();
    if (!this.released) {
      this.released = true;
      this.release();
    }
  }
}

/** A predicate that throws on garbage is a "no", never a crash. */
function safe(done: (data: Buffer) => boolean, data: Buffer): boolean {
  try {
    return done(data);
  } catch {
    return false;
  }
}

/** Opens connections to one target, plain or TLS; probes never care which. */
export type Dial = () => Promise<Conn>;

export function plainDial(ctx: ProbeContext, target: ProbeTarget): Dial {
  return () => open(ctx, () => ctx.env.connect({ host: target.host, port: target.port, timeoutMs: budget(ctx) }));
}

export function tlsDial(ctx: ProbeContext, target: ProbeTarget, opts: Partial<TlsConnectOptions> = {}): Dial {
  return () =>
    open(ctx, () => ctx.env.connectTls({ host: target.host, port: target.port, timeoutMs: budget(ctx), ...opts }));
}

async function open(ctx: ProbeContext, connect: () => Promise<Duplex>): Promise<Conn> {
  if (ctx.remaining() <= 0) throw new ScanTimeout();
  const release = await ctx.limiter.acquire();
  if (ctx.remaining() <= 0) {
    release();
    throw new ScanTimeout();
  }
  try {
    return new Conn(await connect(), ctx.maxReadBytes, release);
  } catch (err) {
    release();
    throw err;
  }
}

/** Opens a connection, runs `fn`, and always closes it. */
export async function withConn<T>(dial: Dial, fn: (conn: Conn) => Promise<T>): Promise<T> {
  const conn = await dial();
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

/** Sends `hello` on a fresh connection and returns the reply once `done` holds, the peer is idle, or time runs out. */
export async function exchange(
  ctx: ProbeContext,
  dial: Dial,
  hello: Buffer | string,
  done: (data: Buffer) => boolean,
): Promise<Buffer> {
  return withConn(dial, async (conn) => {
    conn.write(hello);
    return (await conn.waitFor(done, budget(ctx), ctx.idleMs)).data;
  });
}
