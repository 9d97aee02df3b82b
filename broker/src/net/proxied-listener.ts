// A TCP front for a TLS server behind a load balancer that speaks the PROXY protocol (HAProxy's `send-proxy-v2`):
// connections from a trusted balancer must start with a PROXY header, which is read before any TLS work and makes
// the connection's remote address the device's, so per-address limits, the audit trail and a device's last address
// see devices, not the balancer. Connections from any other address go straight on, untouched: a device that sends
// a PROXY header itself only fails its TLS handshake.
import { BlockList, createServer, isIPv4, isIPv6, Socket, type Server } from 'node:net';
import { FleetError } from '../errors.js';
import { parseProxyHeader, type ProxySource } from './proxy-header.js';

/** An IPv4 or IPv6 address, or a subnet in CIDR notation (10.0.0.0/8, fd00::/8); undefined when it is neither. */
export function parseAddressOrSubnet(
  text: string,
): { readonly address: string; readonly prefix: number; readonly family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, extra] = text.split('/');
  if (extra !== undefined) return undefined;
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!family) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) return undefined;
  return { address, prefix: Number(prefixText), family };
}

/** The trusted balancers' addresses and subnets (validated by the config: an invalid entry throws here). */
export function trustedProxies(list: readonly string[]): BlockList {
  const trusted = new BlockList();
  for (const entry of list) {
    const parsed = parseAddressOrSubnet(entry);
    if (!parsed) throw new TypeError(`not an address or subnet: ${entry}`);
    trusted.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return trusted;
}

function isTrusted(trusted: BlockList, address: string | undefined): boolean {
  if (address === undefined) return false;
  // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(v4)) return trusted.check(v4, 'ipv4');
  return isIPv6(address) && trusted.check(address, 'ipv6');
}

/** The connection now reports the device's address and port (own properties over net.Socket's getters). */
function setPeer(socket: Socket, source: Extract<ProxySource, { kind: 'proxied' }>): void {
  Object.defineProperties(socket, {
    remoteAddress: { value: source.address, configurable: true },
    remotePort: { value: source.port, configurable: true },
    remoteFamily: { value: source.family, configurable: true },
  });
}

/**
 * The TCP socket a connection's addresses are read from. A TLS server wraps the TCP socket it is given in a
 * TLSSocket, which reads its peer from the operating system, not from that socket: for a proxied connection only the
 * TCP socket carries the device's address. Node keeps it as the TLSSocket's `_parent` (lib/_tls_wrap.js; not in its
 * documentation): test/integration/proxy-protocol.test.ts fails if that changes.
 */
export function peerSocket(socket: Socket): Socket {
  const parent = (socket as { _parent?: unknown })._parent;
  return parent instanceof Socket ? parent : socket;
}

export interface ProxyFrontOptions {
  readonly trusted: BlockList;
  /** Time a trusted connection has to send its whole header. */
  readonly timeoutMs: number;
  /** Hands a connection on, its header (if any) read and gone, its first bytes still to be read. */
  readonly accept: (socket: Socket) => void;
  /** A trusted connection sent no valid header, or not in time; it is already destroyed. */
  readonly refused: (socket: Socket, err: FleetError) => void;
}

/**
 * The listening server: trusted connections pass once their header is read, all others at once. Closing it also
 * closes the connections still sending their header (the server it hands connections to closes the others).
 */
export function createProxyFront(o: ProxyFrontOptions): Server {
  const reading = new Set<Socket>();
  const front = createServer((socket) => {
    if (isTrusted(o.trusted, socket.remoteAddress)) readHeader(socket, o, reading);
    else o.accept(socket);
  });
  const close = front.close.bind(front);
  front.close = (callback) => {
    for (const socket of reading) socket.destroy();
    return close(callback);
  };
  return front;
}

function readHeader(socket: Socket, o: ProxyFrontOptions, reading: Set<Socket>): void {
  let received: Buffer = Buffer.alloc(0);
  reading.add(socket);
  const done = () => {
    reading.delete(socket);
    clearTimeout(timer);
    socket.off('readable', onReadable);
    socket.off('error', onError);
    socket.off('close', done);
  };
  const fail = (err: FleetError) => {
    done();
    socket.destroy();
    o.refused(socket, err);
  };
  const timer = setTimeout(() => {
    fail(new FleetError('FLEET_PROXY_HEADER', `no PROXY protocol header within ${o.timeoutMs} ms`));
  }, o.timeoutMs);
  // Before the header is read the connection is ours: an error (a reset) or a close just ends it.
  const onError = () => {
    done();
    socket.destroy();
  };
  const onReadable = () => {
    for (let chunk: Buffer | null; (chunk = socket.read() as Buffer | null) !== null; ) {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      let result: ReturnType<typeof parseProxyHeader>;
      try {
        result = parseProxyHeader(received);
      } catch (err) {
        return fail(err as FleetError);
      }
      if (!result.done) continue;
      done();
      // The bytes after the header (a TLS ClientHello sent at once) go back: the TLS server reads them first.
      if (received.length > result.length) socket.unshift(received.subarray(result.length));
      if (result.source.kind === 'proxied') setPeer(socket, result.source);
      return o.accept(socket);
    }
  };
  socket.on('error', onError);
  socket.once('close', done);
  socket.on('readable', onReadable);
}
