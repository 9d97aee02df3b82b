// Child process of half-open-flood.ts: opens TCP connections to a TLS port from several loopback source addresses,
// sends half a ClientHello on each and holds them, answering the parent's questions over IPC. It runs apart from
// the server under test because every socket is a file descriptor, and each process may hold only 20,000.
import { connect, type Socket } from 'node:net';
import { halfClientHello } from './client-hello.js';
import type { FloodOptions, FloodRequest, FloodStats } from './half-open-flood.js';

const opts = JSON.parse(process.argv[2]!) as Required<FloodOptions>;
const hello = await halfClientHello();
const held = new Set<Socket>();
const stats = { attempted: 0, connected: 0, closedByServer: 0, failed: 0 };
let stopping = false;

/** The k-th loopback source address: 127.77.0.1, 127.77.0.2, …, 127.77.0.250, 127.77.1.1, … */
const sourceAddress = (k: number) => `127.77.${Math.floor(k / 250)}.${(k % 250) + 1}`;

/** Each address opens its share in one run, as one attacking host would: 0…(n/a − 1) from the first, and so on. */
const addressOf = (i: number) => Math.floor((i * opts.addresses) / opts.sockets);

function open(i: number): Promise<void> {
  return new Promise((resolve) => {
    stats.attempted++;
    const socket = connect({ host: opts.host, port: opts.port, localAddress: sourceAddress(addressOf(i)) });
    // Bounded: a connect the server never answers counts as failed.
    socket.setTimeout(opts.connectTimeoutMs, () => socket.destroy(new Error('connect timeout')));
    socket.once('connect', () => {
      socket.setTimeout(0);
      stats.connected++;
      held.add(socket);
      socket.write(hello);
      resolve();
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      if (held.delete(socket)) {
        if (!stopping) stats.closedByServer++;
      } else {
        stats.failed++;
        resolve();
      }
    });
  });
}

const snapshot = (): FloodStats => ({ ...stats, held: held.size });

process.on('message', (m: FloodRequest) => {
  if (m.type === 'stats') process.send!({ type: 'stats', stats: snapshot() });
  if (m.type === 'stop') {
    stopping = true;
    for (const s of held) s.destroy();
    process.send!({ type: 'stopped', stats: snapshot() }, () => process.exit(0));
  }
});
// Never outlive the parent, nor the time the parent allowed.
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(0), opts.lifetimeMs).unref();

let next = 0;
const started = Date.now();
await Promise.all(
  Array.from({ length: opts.concurrency }, async () => {
    while (next < opts.sockets && !stopping) {
      const i = next++;
      // Paced: the kernel completes a connection before the server accepts it, so an unpaced flood overruns the
      // listen backlog and then waits out SYN retransmits (1 s each); that slows the flood, not the server.
      const due = opts.perSecond > 0 ? started + (i * 1000) / opts.perSecond - Date.now() : 0;
      if (due > 0) await new Promise((r) => setTimeout(r, due));
      await open(i);
    }
  }),
);
process.send!({ type: 'ready', stats: snapshot(), ms: Date.now() - started });
