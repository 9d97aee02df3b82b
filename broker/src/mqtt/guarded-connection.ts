// The stream aedes serves for one device: its TLS socket behind the packet-size guard. aedes takes any duplex
// (`aedes.handle(stream)`), so the limit is enforced in front of it without knowing how aedes reads.
import type { Client } from 'aedes';
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createFrameGuard, type FrameCheck } from '../limits/frame-guard.js';

export type TooLarge = Extract<FrameCheck, { ok: false }>;

/**
 * Passes the socket's bytes to aedes and aedes' bytes to the socket. A packet whose fixed header announces more
 * than `maxPacketBytes` closes the connection as soon as its length is known, before its body is buffered
 * (MQTT 3.1.1 has no way to refuse one packet: [MQTT-2.2.3] only bounds the length field).
 */
export class GuardedConnection extends Duplex {
  /** The device's TLS socket: its certificate and address. */
  readonly socket: TLSSocket;

  constructor(socket: TLSSocket, maxPacketBytes: number, onTooLarge: (refusal: TooLarge) => void) {
    // Strings from the MQTT encoder go to the socket as they are: the socket encodes them once.
    super({ allowHalfOpen: false, decodeStrings: false });
    this.socket = socket;
    const check = createFrameGuard(maxPacketBytes);
    socket.on('data', (chunk: Buffer) => {
      const r = check(chunk);
      if (!r.ok) {
        onTooLarge(r);
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    // Kept for the socket's whole life: an error after this stream is gone must not go unhandled.
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.socket.write(chunk, encoding)) done();
    else this.socket.once('drain', () => done());
  }

  /** What the MQTT encoder wrote while corked (one packet in several pieces, or many PUBACKs) leaves in one write. */
  override _writev(
    chunks: { chunk: Buffer | string; encoding: BufferEncoding }[],
    done: (err?: Error | null) => void,
  ): void {
    this.socket.cork();
    let flowing = true;
    for (const { chunk, encoding } of chunks) flowing = this.socket.write(chunk, encoding);
    this.socket.uncork();
    if (flowing) done();
    else this.socket.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end(() => done());
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }
}

/** The TLS socket behind a client: every connection the MQTT listener serves is a GuardedConnection. */
export function tlsSocketOf(client: Client): TLSSocket | undefined {
  return client.conn instanceof GuardedConnection ? client.conn.socket : undefined;
}
