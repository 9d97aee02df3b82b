// A stand-in for the fleet server's bundle download listener, for update client tests: HTTPS with the fleet's
// server certificate, a client certificate from the fleet CA required, a bearer token checked, Range supported;
// it can cut the connection after N bytes or answer with a status on demand.
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { loadServerTls } from '../../broker/src/fleet/data-dir.js';

export interface BundleServer {
  /** The URL of `name` (a file registered with `add`). */
  url(name: string): string;
  add(name: string, file: string): void;
  /** The next responses are cut after this many body bytes (one entry per response). */
  cutAfter(...bytes: number[]): void;
  /** The next responses are this status (one entry per response). */
  failWith(...statuses: number[]): void;
  /** Holds every response until `release()` (to catch the client mid-download). */
  hold(): void;
  release(): void;
  /** Each request: its Range header and the status answered. */
  readonly requests: { range: string | undefined; status: number; cn: string | undefined }[];
  close(): Promise<void>;
}

export async function startBundleServer(dataDir: string, token: string): Promise<BundleServer> {
  const tls = loadServerTls(dataDir);
  const files = new Map<string, string>();
  const cuts: number[] = [];
  const fails: number[] = [];
  let held: (() => void)[] | undefined;
  const requests: BundleServer['requests'] = [];
  const server: Server = createServer(
    { key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const go = () => {
        const cn = (req.socket as import('node:tls').TLSSocket).getPeerCertificate?.()?.subject?.CN as
          | string
          | undefined;
        const answer = (status: number) => {
          requests.push({ range: req.headers.range, status, cn });
          res.statusCode = status;
        };
        const forced = fails.shift();
        if (forced !== undefined) return (answer(forced), res.end());
        if (req.headers.authorization !== `Bearer ${token}`) return (answer(401), res.end());
        const file = files.get(decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname.slice(1)));
        if (!file) return (answer(404), res.end());
        const size = statSync(file).size;
        let start = 0;
        const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
        if (req.headers.range && !range) return (answer(416), res.end());
        if (range) {
          start = Number(range[1]);
          if (start >= size) return (answer(416), res.setHeader('content-range', `bytes */${size}`), res.end());
          answer(206);
          res.setHeader('content-range', `bytes ${start}-${size - 1}/${size}`);
        } else answer(200);
        res.setHeader('content-length', size - start);
        res.setHeader('etag', `"${file}"`);
        const cut = cuts.shift();
        const end = cut === undefined ? size - 1 : Math.min(size - 1, start + cut - 1);
        const stream = createReadStream(file, { start, end });
        if (cut === undefined) return void stream.pipe(res);
        // Written, flushed, then the socket closed (TLS close_notify): the client sees a short body.
        let last: Promise<void> = Promise.resolve();
        stream.on('data', (d) => (last = new Promise((r) => res.write(d, () => r()))));
        stream.on('end', () => void last.then(() => setTimeout(() => res.socket?.end(), 20)));
      };
      if (held) held.push(go);
      else go();
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (name) => `https://127.0.0.1:${port}/${encodeURIComponent(name)}`,
    add: (name, file) => void files.set(name, file),
    cutAfter: (...b) => void cuts.push(...b),
    failWith: (...s) => void fails.push(...s),
    hold: () => void (held ??= []),
    release() {
      const h = held ?? [];
      held = undefined;
      for (const go of h) go();
    },
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
