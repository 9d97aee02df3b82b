// The outside world the scanner touches — /proc, sockets, DNS, clock — injected so tests can feed fixtures.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { isIP, connect as netConnect } from 'node:net';
import { endianness, networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type SecureVersion, type TLSSocket } from 'node:tls';

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Time allowed for the TCP connect (and TLS handshake). */
  readonly timeoutMs: number;
}

export interface TlsConnectOptions extends ConnectOptions {
  readonly minVersion?: SecureVersion;
  readonly maxVersion?: SecureVersion;
  readonly ciphers?: string;
}

export interface UdpRequest {
  readonly host: string;
  readonly port: number;
  readonly payload: Buffer;
  readonly timeoutMs: number;
  /** Largest reply kept, in bytes. */
  readonly maxBytes: number;
}

export interface ScanEnv {
  readFile(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  readlink(path: string): Promise<string>;
  /** Opens a TCP connection; rejects on refusal, error or timeout. */
  connect(opts: ConnectOptions): Promise<Duplex>;
  /** Opens a TLS connection without verifying the peer (the scanner inspects the certificate itself). */
  connectTls(opts: TlsConnectOptions): Promise<TLSSocket>;
  /** Sends one datagram and returns the first reply from that address and port, or undefined. */
  udpRequest(req: UdpRequest): Promise<Buffer | undefined>;
  /** Addresses of this host's interfaces (loopback included). */
  localAddresses(): string[];
  /** Every address a host name resolves to. */
  lookup(host: string): Promise<string[]>;
  now(): number;
  randomBytes(n: number): Buffer;
  /** Byte order of the kernel's /proc/net address words. */
  readonly endianness: 'LE' | 'BE';
}

function timeoutError(what: string): Error {
  return Object.assign(new Error(`${what} timed out`), { code: 'ETIMEDOUT' });
}

function defaultConnect(opts: ConnectOptions): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: opts.host, port: opts.port });
    const timer = setTimeout(() => socket.destroy(timeoutError('connect')), opts.timeoutMs);
    // A late error after resolve must never become an unhandled 'error' event.
    socket.on('error', () => {});
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function defaultConnectTls(opts: TlsConnectOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: opts.host,
      port: opts.port,
      // RFC 6066 §3: SNI carries host names only, never literal addresses.
      ...(isIP(opts.host) ? {} : { servername: opts.host }),
      rejectUnauthorized: false,
      minVersion: opts.minVersion ?? 'TLSv1',
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      // Security level 0 lets the probe complete handshakes with weak servers so it can report them.
      ciphers: opts.ciphers ?? 'DEFAULT@SECLEVEL=0',
    });
    const timer = setTimeout(() => socket.destroy(timeoutError('TLS handshake')), opts.timeoutMs);
    socket.on('error', () => {});
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function defaultUdpRequest(req: UdpRequest): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(isIP(req.host) === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (value: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(value);
    };
    const timer = setTimeout(() => finish(undefined), req.timeoutMs);
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port === req.port) finish(msg.subarray(0, req.maxBytes));
    });
    socket.on('error', () => finish(undefined));
    socket.send(req.payload, req.port, req.host, (err) => {
      if (err) finish(undefined);
    });
  });
}

function defaultLocalAddresses(): string[] {
  const out = ['127.0.0.1', '::1'];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.push(a.address);
  }
  return out;
}

export const defaultEnv: ScanEnv = Object.freeze({
  readFile: (path: string) => readFile(path, 'utf8'),
  readdir: (path: string) => readdir(path),
  readlink: (path: string) => readlink(path),
  connect: defaultConnect,
  connectTls: defaultConnectTls,
  udpRequest: defaultUdpRequest,
  localAddresses: defaultLocalAddresses,
  lookup: async (host: string) => (await lookup(host, { all: true })).map((a) => a.address),
  now: () => Date.now(),
  randomBytes: (n: number) => randomBytes(n),
  endianness: endianness(),
});
