// A loopback TCP proxy between virtual devices and the fleet server, for the reconnect storm: it can cut every
// connection at once and refuse new ones for a while. TLS passes through untouched (devices still authenticate
// to the server end to end), and each upstream connection leaves from the device's own source address, so the
// server's per-address limits see the same picture as without the proxy.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface StormProxy {
  readonly port: number;
  /** Drops every connection now and refuses new ones for `ms`. */
  cut(ms: number): void;
  readonly open: number;
  close(): Promise<void>;
}

export async function startStormProxy(opts: {
  upstreamHost: string;
  upstreamPort: number;
  host?: string;
  keepSourceAddress?: boolean;
}): Promise<StormProxy> {
  const pairs = new Set<Socket>();
  let refuseUntil = 0;

  const server: Server = createServer({ noDelay: true }, (down) => {
    if (Date.now() < refuseUntil) {
      down.resetAndDestroy();
      return;
    }
    const source = opts.keepSourceAddress && down.remoteAddress?.startsWith('127.') ? down.remoteAddress : undefined;
    const up = connect({
      host: opts.upstreamHost,
      port: opts.upstreamPort,
      noDelay: true,
      ...(source ? { localAddress: source } : {}),
    });
    pairs.add(down);
    pairs.add(up);
    const end = () => {
      pairs.delete(down);
      pairs.delete(up);
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    cut(ms) {
      refuseUntil = Date.now() + ms;
      // A reset, not a FIN: to the device this looks like a server or network that went away.
      for (const s of [...pairs]) s.resetAndDestroy();
      pairs.clear();
    },
    get open() {
      return pairs.size / 2;
    },
    async close() {
      for (const s of pairs) s.destroy();
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
