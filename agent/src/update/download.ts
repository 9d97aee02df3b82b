// Downloads a firmware bundle: HTTPS with the device's own certificate (mutual TLS, the fleet CA only) and the
// offer's bearer token, streamed to a .part file in constant memory, resumed with Range after a cut, retried a
// bounded number of times with exponential backoff and jitter. A 4xx other than 408/429 stops at once; a body
// longer than the offered size is refused. Everything the server says is checked, never trusted.
import { open, stat, truncate } from 'node:fs/promises';
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { EdgewardError } from '../../../shared/src/index.js';
import { AgentError } from '../errors.js';
import type { TlsCredentials } from '../mqtt/connection.js';

export interface DownloadRequest {
  readonly url: string;
  /**
   * The bearer token, or a function returning the latest one the fleet sent: the server issues a fresh token with
   * every offer (on a reconnect, say) and only the newest works, so a 401 for a token since replaced is retried with
   * the new one.
   */
  readonly token: string | (() => string);
  /** The offered size of the whole bundle; more is refused. */
  readonly size: number;
  /** The .part file: what it already holds is kept and resumed from. */
  readonly file: string;
  readonly tls: TlsCredentials;
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Receives every byte, in order, as it is written to `file` (resumed attempts continue where the last stopped):
   * the update client verifies the bundle while it arrives. A rejection with an EdgewardError (the verifier's
   * verdict) ends the download with it, without retrying.
   */
  readonly onData?: (chunk: Uint8Array) => Promise<void>;
  /**
   * fsync the file once complete (default true). The update client skips it when it verified the bytes as they
   * came (onData): then the slot they went to is what must be durable, and the .part file is never read.
   */
  readonly sync?: boolean;
}

/**
 * Resolves once `file` holds exactly `size` bytes (fsynced unless `sync` is false); rejects with an UPDATE_*
 * AgentError, or with the EdgewardError `onData` rejected with.
 */
export type DownloadFn = (req: DownloadRequest) => Promise<void>;

export interface DownloaderOptions {
  /** Attempts in all (default 6). */
  readonly attempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** No byte for this long ends the attempt (default 30 s). */
  readonly idleTimeoutMs?: number;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * After a 401, how long to wait for a fresh token (one may be on its way over MQTT while the old one is refused)
   * before giving up (default 3 s).
   */
  readonly tokenGraceMs?: number;
  /** Called before each retry (tests, logs). */
  readonly onRetry?: (attempt: number, error: Error, delayMs: number) => void;
}

class Retryable extends Error {}
/** A 401 for this token: retried only if a newer token arrives. */
class TokenRefused extends Error {
  constructor(
    readonly token: string,
    readonly refusal: AgentError,
  ) {
    super(refusal.message);
  }
}

const tokenOf = (req: DownloadRequest) => (typeof req.token === 'function' ? req.token() : req.token);
/** Fresh tokens taken in one download, at most (each one is a new offer from the fleet). */
const MAX_TOKEN_RENEWALS = 10;

/** Bytes gathered before one write to the .part file. */
const WRITE_BYTES = 256 * 1024;

const sizeOf = async (file: string) => {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
};

async function fsyncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function get(req: DownloadRequest, token: string, from: number, idleMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const r = request(req.url, {
      method: 'GET',
      key: req.tls.key,
      cert: req.tls.cert,
      ca: req.tls.ca,
      rejectUnauthorized: true,
      headers: {
        authorization: `Bearer ${token}`,
        ...(from > 0 ? { range: `bytes=${from}-` } : {}),
        'accept-encoding': 'identity',
      },
      timeout: idleMs,
    });
    r.once('timeout', () => r.destroy(new Retryable(`no answer for ${idleMs / 1000} s`)));
    r.once('error', (e) => reject(e instanceof Retryable ? e : new Retryable(e.message)));
    r.once('response', resolve);
    r.end();
  });
}

/** One attempt: resumes from what `file` holds; resolves when it is complete. */
async function attempt(req: DownloadRequest, idleMs: number): Promise<void> {
  let have = await sizeOf(req.file);
  if (have > req.size) {
    await truncate(req.file, 0);
    have = 0;
  }
  if (have === req.size) return;
  const token = tokenOf(req);
  const res = await get(req, token, have, idleMs);
  const status = res.statusCode ?? 0;
  const refuse = (code: 'UPDATE_DOWNLOAD_SIZE' | 'UPDATE_DOWNLOAD_REFUSED', message: string) => {
    res.destroy();
    return new AgentError(code, message, { details: { status } });
  };
  let start: number;
  if (status === 200) {
    start = 0;
  } else if (status === 206) {
    const m = /^bytes (\d{1,15})-(\d{1,15})\/(\d{1,15})$/.exec(String(res.headers['content-range'] ?? ''));
    if (!m || Number(m[1]) !== have || Number(m[3]) !== req.size || Number(m[2]) >= req.size)
      throw refuse('UPDATE_DOWNLOAD_SIZE', `the server answered Range ${have}- with ${res.headers['content-range']}`);
    start = have;
  } else if (status === 401) {
    throw new TokenRefused(token, refuse('UPDATE_DOWNLOAD_REFUSED', 'the fleet server refused the download: HTTP 401'));
  } else if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    throw refuse('UPDATE_DOWNLOAD_REFUSED', `the fleet server refused the download: HTTP ${status}`);
  } else {
    res.destroy();
    throw new Retryable(`HTTP ${status}`);
  }
  const length = res.headers['content-length'];
  if (length !== undefined && Number(length) > req.size - start)
    throw refuse('UPDATE_DOWNLOAD_SIZE', `the server offers ${length} bytes from ${start}; the bundle has ${req.size}`);
  if (start === 0 && have > 0) await truncate(req.file, 0);
  let done = start;
  res.setTimeout(idleMs, () => res.destroy(new Retryable(`no byte for ${idleMs / 1000} s`)));
  // Chunks are gathered up to WRITE_BYTES and written with one writev before more is read: constant memory, few
  // system calls (a TLS record is 16 KiB), and what arrived before a cut is on disk before the next attempt.
  const fh = await open(req.file, start === 0 ? 'w' : 'a', 0o600);
  let batch: Buffer[] = [];
  let batched = 0;
  // One piece per batch, copied into one of two reused buffers: the verifier and the slot it writes to see few,
  // large chunks; the next batch arrives while the verifier hashes this one; and no garbage piles up between
  // collections (the agent's RSS stays flat through a large bundle). A buffer is reused only once the verifier is
  // done with what it held.
  const scratch = [Buffer.allocUnsafe(0), Buffer.allocUnsafe(0)];
  const handed: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  let turn = 0;
  let refused: unknown;
  const feed = async (chunks: readonly Buffer[], n: number) => {
    if (!req.onData) return;
    const i = turn;
    turn ^= 1;
    await handed[i];
    if (refused !== undefined) throw refused;
    if (scratch[i]!.length < n) scratch[i] = Buffer.allocUnsafe(Math.max(n, WRITE_BYTES + 64 * 1024));
    const piece = scratch[i]!.subarray(0, n);
    let at = 0;
    for (const c of chunks) at += c.copy(piece, at);
    handed[i] = req.onData(piece).catch((err: unknown) => void (refused ??= err));
  };
  /** Waits until the verifier is done with everything handed over; throws its refusal, if any. */
  const drained = async () => {
    await Promise.all(handed);
    if (refused !== undefined) throw refused;
  };
  const flush = async () => {
    if (batched === 0) return;
    const chunks = batch;
    const n = batched;
    batch = [];
    batched = 0;
    // To disk and to the verifier at once: the hash runs here while the write runs on libuv's pool.
    await Promise.all([fh.writev(chunks), feed(chunks, n)]);
    done += n;
    req.onProgress?.(done, req.size);
  };
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (done + batched + chunk.length > req.size) {
        res.destroy();
        throw new AgentError('UPDATE_DOWNLOAD_SIZE', `the download is larger than the offered ${req.size} bytes`);
      }
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= WRITE_BYTES) await flush();
    }
    await flush();
    await drained();
  } catch (err) {
    if (err instanceof EdgewardError) throw err;
    // A cut: keep what arrived, so that the next attempt asks for the rest (and the verifier has it all).
    await flush().catch(() => undefined);
    await drained().catch(() => undefined);
    if (refused instanceof EdgewardError) throw refused;
    throw new Retryable(`cut after ${done} of ${req.size} bytes: ${(err as Error).message}`);
  } finally {
    await fh.close();
  }
  if (done < req.size) throw new Retryable(`cut after ${done} of ${req.size} bytes`);
}

export function createDownloader(opts: DownloaderOptions = {}): DownloadFn {
  const attempts = opts.attempts ?? 6;
  const base = opts.baseDelayMs ?? 1000;
  const max = opts.maxDelayMs ?? 60_000;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const grace = opts.tokenGraceMs ?? 3000;
  /** Whether a token other than `used` is (or within the grace period becomes) the request's current one. */
  const newerToken = async (req: DownloadRequest, used: string): Promise<boolean> => {
    if (typeof req.token !== 'function') return false;
    for (let waited = 0; tokenOf(req) === used; waited += 100) {
      if (waited >= grace) return false;
      await new Promise<void>((r) => setTimeout(r, 100));
    }
    return true;
  };
  return async (req) => {
    if (!/^https:\/\//.test(req.url))
      throw new AgentError('UPDATE_URL', `refusing to download from ${req.url.slice(0, 80)}: not https://`);
    let renewals = 0;
    for (let i = 1; ; i++) {
      try {
        await attempt(req, opts.idleTimeoutMs ?? 30_000);
        if (req.sync !== false) await fsyncFile(req.file);
        return;
      } catch (err) {
        if (err instanceof TokenRefused) {
          // Refused for a token the fleet has since replaced: again with the new one (not counted as a failure).
          if (renewals < MAX_TOKEN_RENEWALS && (await newerToken(req, err.token))) {
            renewals++;
            i--;
            continue;
          }
          throw err.refusal;
        }
        if (!(err instanceof Retryable)) {
          if (err instanceof EdgewardError) throw err;
          throw new AgentError('UPDATE_DOWNLOAD', `download failed: ${(err as Error).message}`, { cause: err });
        }
        if (i >= attempts)
          throw new AgentError('UPDATE_DOWNLOAD', `download failed after ${attempts} attempts: ${err.message}`);
        // Full jitter over an exponentially growing window.
        const delay = Math.round(random() * Math.min(max, base * 2 ** (i - 1)));
        opts.onRetry?.(i, err, delay);
        await sleep(delay);
      }
    }
  };
}
