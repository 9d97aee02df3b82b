// Identifies a TCP service by behaviour, never by port number: first a silent connection for a server-first
// banner, then TLS and every client-first hello in parallel (each on its own connection); the first decisive
// answer wins and the other connections are closed at once. Inside TLS the same steps run again.
import { budget, plainDial, ScanTimeout, tlsDial, type Conn, type Dial, type ProbeContext } from '../net/conn.js';
import type { ProbeTarget, TlsFacts } from '../types.js';
import { SERVER_FIRST } from './banner.js';
import { httpProbe } from './http.js';
import { memcachedProbe } from './memcached.js';
import { modbusProbe } from './modbus.js';
import { mongodbProbe } from './mongodb.js';
import { mqttProbe } from './mqtt.js';
import { postgresProbe } from './postgres.js';
import { printable, type Assessment, type ClientFirstProbe, type ProbeArgs } from './probe.js';
import { redisProbe } from './redis.js';
import { legacyVersions, tlsHandshake, type TlsHandshake } from './tls.js';

export const CLIENT_FIRST: readonly ClientFirstProbe[] = [
  httpProbe,
  mqttProbe,
  redisProbe,
  memcachedProbe,
  postgresProbe,
  mongodbProbe,
  modbusProbe,
];

export type TcpObservation =
  | { readonly open: false; readonly reason: string }
  | { readonly open: true; readonly assessment: Assessment; readonly tls?: TlsFacts };

type Winner =
  | { readonly kind: 'probe'; readonly probe: ClientFirstProbe; readonly conn: Conn }
  | { readonly kind: 'tls'; readonly handshake: Extract<TlsHandshake, { isTls: true }> };

const unknown = (banner?: string): Assessment => ({ facts: { protocol: 'unknown', ...(banner ? { banner } : {}) } });

/** Stage 1: listen on a fresh connection; a server-first protocol is recognised from what it says unprompted. */
async function bannerStage(args: ProbeArgs, opened?: Conn, signal?: AbortSignal): Promise<Assessment | undefined> {
  const conn = opened ?? (await args.dial());
  const abort = () => conn.close();
  signal?.addEventListener('abort', abort);
  try {
    const { data } = await conn.waitFor(
      (d) => d.includes(0x0a),
      budget(args.ctx, args.ctx.bannerWaitMs),
      args.ctx.idleMs,
    );
    if (data.length === 0 || signal?.aborted) return undefined;
    const probe = SERVER_FIRST.find((p) => p.recognise(data));
    return probe ? await probe.assess(conn, args) : unknown(printable(data, 80));
  } finally {
    signal?.removeEventListener('abort', abort);
    conn.close();
  }
}

interface Entry {
  readonly probe: ClientFirstProbe;
  /** Start later, and only if nothing has won by then. */
  readonly delayMs: number;
}

interface Race {
  readonly result: Promise<Winner | undefined>;
  /** Stops every attempt; the result becomes undefined if nothing had won. */
  cancel(): void;
}

/** Stage 2: client-first hellos (and a TLS ClientHello), each on its own connection; the first "yes" wins. */
function startRace(args: ProbeArgs, entries: readonly Entry[], withTls: boolean): Race {
  const { ctx, dial } = args;
  let settled = false;
  let resolveResult: (w: Winner | undefined) => void = () => undefined;
  const result = new Promise<Winner | undefined>((resolve) => (resolveResult = resolve));
  let pending = entries.length + (withTls ? 1 : 0);
  const open = new Set<Conn>();
  const settle = (w: Winner | undefined) => {
    settled = true;
    for (const c of open) if (w?.kind !== 'probe' || c !== w.conn) c.close();
    resolveResult(w);
  };
  const finishOne = () => {
    if (--pending === 0 && !settled) settle(undefined);
  };
  const win = (w: Winner) => {
    if (!settled) return settle(w);
    if (w.kind === 'probe') w.conn.close();
  };
  for (const { probe, delayMs } of entries) {
    void (async () => {
      let conn: Conn | undefined;
      try {
        if (delayMs > 0) await new Promise((r) => setTimeout(r, Math.min(delayMs, Math.max(0, ctx.remaining()))));
        if (settled) return;
        conn = await dial();
        if (settled) return;
        open.add(conn);
        conn.write(probe.hello(args));
        const { data } = await conn.waitFor((d) => probe.recognise(d, false) !== 'more', budget(ctx), ctx.idleMs);
        open.delete(conn);
        if (!settled && probe.recognise(data, true) === 'yes') {
          const c = conn;
          conn = undefined;
          win({ kind: 'probe', probe, conn: c });
        }
      } catch {
        // Refused, reset or out of time: this hello simply did not match.
      } finally {
        conn?.close();
        finishOne();
      }
    })();
  }
  if (withTls) {
    void tlsHandshake(ctx, args.target)
      .then((h) => {
        if (h.isTls) win({ kind: 'tls', handshake: h });
      })
      .catch(() => undefined)
      .finally(finishOne);
  }
  return { result, cancel: () => (settled ? undefined : settle(undefined)) };
}

async function assessWinner(
  args: ProbeArgs,
  winner: Winner | undefined,
): Promise<{ assessment: Assessment; tls?: TlsFacts }> {
  if (!winner) return { assessment: unknown() };
  if (winner.kind === 'probe') {
    try {
      return { assessment: await winner.probe.assess(winner.conn, args) };
    } finally {
      winner.conn.close();
    }
  }
  const { facts, completed } = winner.handshake;
  const legacy = await legacyVersions(args.ctx, args.target);
  const tls: TlsFacts = { ...facts, legacy };
  if (!completed || facts.clientCertRequired) return { assessment: unknown(), tls };
  const inner = await identifyInsideTls({ ...args, dial: tlsDial(args.ctx, args.target), tls: true }).catch(
    (err: unknown) => {
      if (err instanceof ScanTimeout) throw err;
      return unknown();
    },
  );
  return { assessment: inner, tls };
}

/**
 * Plaintext: the banner first, then every hello and TLS at once. Sending nothing until the banner wait is over
 * keeps login prompts (Telnet, FTP) from ever seeing probe bytes as a user name.
 */
async function identifyPlain(args: ProbeArgs, opened: Conn): Promise<{ assessment: Assessment; tls?: TlsFacts }> {
  const banner = await bannerStage(args, opened);
  if (banner) return { assessment: banner };
  const race = startRace(
    args,
    CLIENT_FIRST.map((probe) => ({ probe, delayMs: 0 })),
    true,
  );
  return assessWinner(args, await race.result);
}

/**
 * Inside TLS most services are HTTPS, and small TLS servers often handle one connection at a time: the banner
 * wait and the HTTP hello run together, and the other hellos start only if neither has answered by the end of
 * the banner wait.
 */
async function identifyInsideTls(args: ProbeArgs): Promise<Assessment> {
  const abortBanner = new AbortController();
  const bannerP = bannerStage(args, undefined, abortBanner.signal).catch((err: unknown) => {
    if (err instanceof ScanTimeout) throw err;
    return undefined;
  });
  const later = args.ctx.bannerWaitMs + args.ctx.idleMs;
  const race = startRace(
    args,
    [
      { probe: httpProbe, delayMs: 0 },
      ...CLIENT_FIRST.filter((p) => p !== httpProbe).map((probe) => ({ probe, delayMs: later })),
    ],
    false,
  );
  const first = await Promise.race([bannerP.then((b) => ({ banner: b })), race.result.then((w) => ({ winner: w }))]);
  if ('winner' in first && first.winner) {
    abortBanner.abort();
    await bannerP;
    return (await assessWinner(args, first.winner)).assessment;
  }
  const banner = 'banner' in first ? first.banner : await bannerP;
  if (banner) {
    race.cancel();
    const late = await race.result;
    if (late?.kind === 'probe') late.conn.close();
    return banner;
  }
  return (await assessWinner(args, await race.result)).assessment;
}

/** Observes one TCP port: closed, or open with what it is and what it allows. */
export async function observeTcp(ctx: ProbeContext, target: ProbeTarget): Promise<TcpObservation> {
  const dial: Dial = plainDial(ctx, target);
  const args: ProbeArgs = { ctx, target, dial, tls: false };
  let first: Conn;
  try {
    // The banner connection also tells closed from open, before any payload is sent.
    first = await dial();
  } catch (err) {
    if (err instanceof ScanTimeout) throw err;
    return { open: false, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
  const { assessment, tls } = await identifyPlain(args, first);
  return { open: true, assessment, ...(tls ? { tls } : {}) };
}
