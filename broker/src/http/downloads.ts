// The device download listener: its own HTTPS port with mutual TLS (a certificate of the fleet CA is required), one
// route, GET|HEAD /v1/releases/{id}/bundle. The device is the client certificate's (checked against the fleet
// store's registry as on MQTT); the bearer token is the one its rollout issued for that release (only its SHA-256
// is stored, in rollout_devices). Single byte ranges resume a broken download; the file is streamed with
// backpressure. Every refusal is counted and recorded as a security event (never the token).
//
// The bundle is served from the data folder's releases/{id}.ewfw. On a cluster a release published through another
// node is not there yet: it is first written there from the store (fleet/releases.ts materialiseBundle: a private
// temporary file, its SHA-256 checked against the id, synced, renamed), once per node and release, rather than
// streamed from the store for each request: then ranges, HEAD and resumed downloads are served as from any file,
// the store is read once however many devices download, and the bytes served were checked against the id.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { pipeline } from 'node:stream/promises';
import { isValidDeviceId, type Logger } from '../../../shared/src/index.js';
import type { AuditLimiter } from '../db/audit.js';
import type { ServerTlsMaterial } from '../fleet/data-dir.js';
import { materialiseBundle, releaseFile } from '../fleet/releases.js';
import type { FleetStore } from '../store/types.js';
import { ConnectionRefused, type HandshakeGuard } from '../limits/handshake-guard.js';
import type { FleetMetrics } from '../metrics/fleet-metrics.js';
import { PROBLEM_TYPE, problem } from '../api/errors.js';
import { listen } from '../listen.js';
import { createHttpsServer, type HttpTimeouts } from './server.js';

export const DEFAULT_DOWNLOAD_PORT = 8444;

/**
 * What rollout_devices.token_hash holds for a download token: its SHA-256, raw bytes. The rollout engine stores
 * this when it issues a token; only the device ever holds the token itself.
 */
export const downloadTokenHash = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** The path of a release's bundle on the download listener. */
export const bundlePath = (releaseId: string) => `/v1/releases/${releaseId}/bundle`;

const ROUTE = /^\/v1\/releases\/([0-9a-f]{64})\/bundle$/;
/** Device update states after which its download token no longer works. */
const FINISHED = new Set(['Cancelled', 'Committed', 'RolledBack', 'Failed']);
const LIVE_ROLLOUT = new Set(['running', 'paused']);
/** A token is a few dozen characters; a longer Authorization header is not one of ours. */
const MAX_TOKEN_CHARS = 512;

export type DownloadRefusal =
  | 'no-client-certificate'
  | 'unregistered'
  | 'revoked'
  | 'unknown-certificate'
  | 'certificate-revoked'
  | 'certificate-expired'
  | 'no-token'
  | 'bad-token'
  | 'expired-token'
  | 'other-device'
  | 'not-offered'
  | 'update-finished'
  | 'unknown-release';

const STATUS: Readonly<Record<DownloadRefusal, 401 | 403 | 404>> = {
  'no-client-certificate': 403,
  unregistered: 403,
  revoked: 403,
  'unknown-certificate': 403,
  'certificate-revoked': 403,
  'certificate-expired': 403,
  'no-token': 401,
  'bad-token': 401,
  'expired-token': 401,
  'other-device': 403,
  'not-offered': 403,
  'update-finished': 403,
  'unknown-release': 404,
};

export interface DownloadListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: ServerTlsMaterial;
  readonly timeouts: HttpTimeouts;
  readonly handshakeTimeoutMs: number;
  readonly handshakes: HandshakeGuard;
  /** The fleet's records: the devices' certificates, the rollouts' grants, the releases and their bundles. */
  readonly records: Pick<FleetStore, 'registry' | 'rollouts' | 'releases'>;
  /** DATA/releases. */
  readonly releasesDir: string;
  readonly events: AuditLimiter;
  readonly metrics: FleetMetrics;
  readonly log: Logger;
  readonly now?: () => number;
}

export interface DownloadListener {
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/** The one range of a `Range: bytes=N-` or `bytes=N-M` header; undefined: serve the whole file (RFC 9110 §14.2). */
function rangeOf(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d{1,15})-(\d{0,15})$/.exec(header.trim());
  // Several ranges, suffix ranges or another unit: ignored, the whole file is sent.
  if (!m) return undefined;
  const start = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Number(m[2]);
  if (m[2] !== '' && last < start) return undefined; // invalid, so ignored [RFC 9110 §14.1.1]
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(last, size - 1) };
}

export async function startDownloadListener(opts: DownloadListenerOptions): Promise<DownloadListener> {
  const now = opts.now ?? Date.now;
  const { metrics, log, records } = opts;
  let state: 'listening' | 'closing' = 'listening';
  /** Bundles being written from the store, by release: concurrent downloads wait for the one write. */
  const writing = new Map<string, Promise<string>>();

  const releaseExists = (id: string) =>
    records.releases.get(id).then(
      () => true,
      (err: { code?: string }) => {
        if (err.code === 'FLEET_RELEASE_UNKNOWN') return false;
        throw err;
      },
    );

  /** The release's bundle file here, written from the store first when this node does not have it yet. */
  function bundleFile(releaseId: string): Promise<string> {
    const file = releaseFile(opts.releasesDir, releaseId);
    if (existsSync(file)) return Promise.resolve(file);
    let w = writing.get(releaseId);
    if (!w) {
      log.info('writing a release bundle from the store', { releaseId });
      w = materialiseBundle(records.releases.bundle(releaseId), opts.releasesDir, releaseId).finally(() =>
        writing.delete(releaseId),
      );
      writing.set(releaseId, w);
    }
    return w;
  }

  function refuse(
    req: IncomingMessage,
    res: ServerResponse,
    reason: DownloadRefusal,
    deviceId: string | null,
    releaseId: string | null,
  ): void {
    const status = STATUS[reason];
    const address = req.socket.remoteAddress ?? null;
    metrics.downloadsRefused.inc({ reason });
    metrics.denials.inc({ kind: 'download', reason });
    opts.events.record({
      event: 'download.denied',
      deviceId,
      address,
      detail: { reason, status, release: releaseId },
    });
    const code = status === 401 ? 'API_UNAUTHENTICATED' : status === 403 ? 'API_FORBIDDEN' : 'API_NOT_FOUND';
    const body = JSON.stringify(problem(status, code, `download refused: ${reason}`, { reason }));
    res.writeHead(status, {
      'content-type': PROBLEM_TYPE,
      'content-length': Buffer.byteLength(body),
      ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  function plain(req: IncomingMessage, res: ServerResponse, status: number, code: string, detail: string): void {
    const body = JSON.stringify(problem(status, code, detail));
    res.writeHead(status, {
      'content-type': PROBLEM_TYPE,
      'content-length': Buffer.byteLength(body),
      ...(status === 405 ? { allow: 'GET, HEAD' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** Who may download what; a refusal reason, or the device and the file. */
  async function authorise(
    req: IncomingMessage,
    releaseId: string,
  ): Promise<{ refused: DownloadRefusal; deviceId: string | null } | { deviceId: string }> {
    const socket = req.socket as TLSSocket;
    const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
    const cn = cert?.subject?.CN;
    if (!cert || typeof cn !== 'string' || !cert.serialNumber || !isValidDeviceId(cn)) {
      return { refused: 'no-client-certificate', deviceId: null };
    }
    const serial = cert.serialNumber.toLowerCase().replace(/^0+/, '');
    const check = await records.registry.checkCertificate(cn, serial, now());
    if (!check.ok) return { refused: check.reason as DownloadRefusal, deviceId: cn };
    if (!(await releaseExists(releaseId))) return { refused: 'unknown-release', deviceId: cn };
    const auth = req.headers.authorization;
    const m = auth && auth.length <= MAX_TOKEN_CHARS ? /^Bearer ([\x21-\x7e]+)$/.exec(auth) : null;
    if (!auth) return { refused: 'no-token', deviceId: cn };
    if (!m) return { refused: 'bad-token', deviceId: cn };
    const rows = await records.rollouts.grants(downloadTokenHash(m[1]!));
    if (rows.length === 0) return { refused: 'bad-token', deviceId: cn };
    const own = rows.filter((r) => r.device_id === cn);
    if (own.length === 0) return { refused: 'other-device', deviceId: cn };
    const forRelease = own.filter((r) => r.release_id === releaseId);
    if (forRelease.length === 0) return { refused: 'not-offered', deviceId: cn };
    const live = forRelease.filter((r) => !FINISHED.has(r.state) && LIVE_ROLLOUT.has(r.rollout_state));
    if (live.length === 0) return { refused: 'update-finished', deviceId: cn };
    if (!live.some((r) => r.token_expires !== null && r.token_expires > now())) {
      return { refused: 'expired-token', deviceId: cn };
    }
    return { deviceId: cn };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0]!;
    const route = ROUTE.exec(path);
    if (!route) return plain(req, res, 404, 'API_NOT_FOUND', `no route ${path.slice(0, 120)}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return plain(req, res, 405, 'API_INVALID_REQUEST', 'only GET and HEAD are served here');
    }
    const releaseId = route[1]!;
    const verdict = await authorise(req, releaseId);
    if ('refused' in verdict) return refuse(req, res, verdict.refused, verdict.deviceId, releaseId);
    let file: string;
    let size: number;
    try {
      file = await bundleFile(releaseId);
      size = statSync(file).size;
    } catch (err) {
      // The row is there but not its bytes: the data folder (or the store) was damaged.
      log.error('a release bundle cannot be read', { releaseId, error: err as Error });
      return plain(req, res, 500, 'API_SERVER_ERROR', 'the bundle cannot be read');
    }
    const etag = `"${releaseId}"`;
    const ifRange = req.headers['if-range'];
    const range = ifRange === undefined || ifRange === etag ? rangeOf(req.headers.range, size) : undefined;
    const common = { 'accept-ranges': 'bytes', etag, 'cache-control': 'no-store' };
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...common, 'content-range': `bytes */${size}`, 'content-length': 0 });
      return void res.end();
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    const length = size === 0 ? 0 : end - start + 1;
    res.writeHead(range ? 206 : 200, {
      ...common,
      'content-type': 'application/octet-stream',
      'content-length': length,
      ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD' || length === 0) return void res.end();
    log.info('bundle download', { deviceId: verdict.deviceId, releaseId, start, length });
    await pipeline(
      createReadStream(file, { start, end, highWaterMark: 64 * 1024 }),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          metrics.downloadBytes.inc({}, chunk.length);
          yield chunk;
        }
      },
      res,
    );
  }

  const server = createHttpsServer(
    {
      tls: opts.tls,
      timeouts: opts.timeouts,
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
      handshakes: opts.handshakes,
      requireClientCertificate: true,
      listener: 'downloads',
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        // A device that goes away mid-download is normal (it resumes with a range); anything else is logged.
        const code = (err as { code?: string }).code;
        if (code !== 'ERR_STREAM_PREMATURE_CLOSE' && code !== 'ECONNRESET') {
          log.error('download failed', { error: err as Error });
        }
        if (!res.headersSent) plain(req, res, 500, 'API_SERVER_ERROR', 'the download failed');
        else res.destroy();
      });
    },
  );
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    const address = socket.remoteAddress ?? null;
    socket.destroy();
    if (err instanceof ConnectionRefused || state === 'closing') return;
    const reason = err.code ?? err.message.slice(0, 120);
    opts.events.record(
      { event: 'tls.denied', address, detail: { reason, listener: 'downloads' } },
      `tls.denied|${address}|${reason}`,
    );
    metrics.denials.inc({ kind: 'tls', reason });
  });
  const port = await listen(server, opts.host, opts.port, 'device downloads');
  server.on('error', (err) => log.error('download listener error', { error: err }));
  return {
    port,
    server,
    async close() {
      state = 'closing';
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      opts.handshakes.closePending('downloads');
      await closed;
    },
  };
}
