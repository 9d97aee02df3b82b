// Byte sources for the streaming verifier: a file read with two reused buffers (the next read overlaps the
// hashing of the current chunk) or, for command-line tools, with blocking reads into one buffer (faster: the
// bytes stay in this core's cache); or any async iterable such as a Readable or an HTTP response body.
// Each yielded chunk stays valid only until the next one is requested; memory never grows with the input.
import { constants, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { describeIoError } from '../../../shared/src/files.js';
import { BundleError } from '../errors.js';

/** Chunk size of file reads: large enough for few calls, small enough to stay in the CPU cache. */
export const CHUNK_BYTES = 512 * 1024;

export interface ByteSource {
  /** Reads up to `n` bytes into a fresh buffer; fewer only when the input ends. */
  readUpTo(n: number): Promise<Uint8Array>;
  /** Yields the following bytes, at most `limit` in total, and stops pulling input there. */
  chunks(limit: number): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

/** A file path, the bundle bytes, or chunks from a stream (a Readable, a fetch body, a generator). */
export type BundleInput = string | Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface SourceOptions {
  /**
   * Read files with blocking reads. About 15% faster on large files (measured in bench/firmware-verify), but
   * each read blocks the event loop: meant for command-line tools, not for the agent.
   */
  readonly syncReads?: boolean;
}

export async function openByteSource(input: BundleInput, opts: SourceOptions = {}): Promise<ByteSource> {
  if (typeof input === 'string') return new FileSource(await openRegularFile(input), opts.syncReads === true);
  if (input instanceof Uint8Array) return new IterableSource([input]);
  if (input !== null && typeof input === 'object' && (Symbol.asyncIterator in input || Symbol.iterator in input))
    return new IterableSource(input);
  throw new BundleError('FW_IO', 'the bundle input is neither a path, bytes, nor a stream of byte chunks');
}

/**
 * Opens a file to stream, refusing anything but a regular file at once: opened non-blocking, so a FIFO cannot
 * block the process for ever (reads of a regular file ignore the flag), then checked with fstat.
 */
async function openRegularFile(path: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw new BundleError('FW_IO', `cannot open ${path}: ${describeIoError(err)}`, { cause: err, details: { path } });
  }
  const info = await fh.stat().catch((err: unknown) => err as Error);
  if (info instanceof Error || !info.isFile()) {
    await fh.close().catch(() => undefined);
    const why =
      info instanceof Error
        ? describeIoError(info)
        : info.isDirectory()
          ? 'it is a folder'
          : 'it is not a regular file';
    throw new BundleError('FW_IO', `cannot open ${path}: ${why}`, { details: { path } });
  }
  return fh;
}

function ioError(err: unknown): BundleError {
  return err instanceof BundleError
    ? err
    : new BundleError('FW_IO', `read failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

class FileSource implements ByteSource {
  private position = 0;
  private readonly buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)] as const;

  constructor(
    private readonly fh: FileHandle,
    private readonly syncReads: boolean,
  ) {}

  async readUpTo(n: number): Promise<Uint8Array> {
    const out = Buffer.alloc(n);
    let got = 0;
    try {
      while (got < n) {
        const { bytesRead } = await this.fh.read(out, got, n - got, this.position);
        if (bytesRead === 0) break;
        got += bytesRead;
        this.position += bytesRead;
      }
    } catch (err) {
      throw ioError(err);
    }
    return got === n ? out : out.subarray(0, got);
  }

  async *chunks(limit: number): AsyncIterable<Uint8Array> {
    if (this.syncReads) {
      yield* this.syncChunks(limit);
      return;
    }
    let remaining = limit;
    let which = 0;
    const readNext = (): Promise<number> => {
      const want = Math.min(CHUNK_BYTES, remaining);
      if (want <= 0) return Promise.resolve(0);
      const buf = this.buffers[which]!;
      const at = this.position;
      this.position += want; // provisional; corrected below when the file is shorter
      return this.fh.read(buf, 0, want, at).then(
        (r) => {
          this.position = at + r.bytesRead;
          return r.bytesRead;
        },
        (err: unknown) => {
          throw ioError(err);
        },
      );
    };
    let pending = readNext();
    for (;;) {
      const got = await pending;
      if (got === 0) return;
      const current = this.buffers[which]!.subarray(0, got);
      remaining -= got;
      which ^= 1;
      pending = readNext(); // overlaps the consumer's work on `current`
      try {
        yield current;
      } finally {
        // When the consumer stops early, let the in-flight read settle before the file is closed.
        if (remaining > 0) await pending.catch(() => 0).then(() => undefined);
      }
      if (remaining <= 0) return;
    }
  }

  private *syncChunks(limit: number): Iterable<Uint8Array> {
    let remaining = limit;
    const buf = this.buffers[0];
    while (remaining > 0) {
      let got: number;
      try {
        got = readSync(this.fh.fd, buf, 0, Math.min(CHUNK_BYTES, remaining), this.position);
      } catch (err) {
        throw ioError(err);
      }
      if (got === 0) return;
      this.position += got;
      remaining -= got;
      yield buf.subarray(0, got);
    }
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

class IterableSource implements ByteSource {
  private readonly it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  private pending: Uint8Array | undefined;
  private done = false;

  constructor(input: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.it = Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : input[Symbol.iterator]();
  }

  private async pull(): Promise<Uint8Array | undefined> {
    if (this.pending && this.pending.length > 0) {
      const p = this.pending;
      this.pending = undefined;
      return p;
    }
    if (this.done) return undefined;
    try {
      for (;;) {
        const r = await this.it.next();
        if (r.done) {
          this.done = true;
          return undefined;
        }
        const chunk = r.value as unknown;
        if (!(chunk instanceof Uint8Array))
          throw new BundleError('FW_IO', 'the bundle stream yielded something other than bytes');
        if (chunk.length > 0) return chunk;
      }
    } catch (err) {
      throw ioError(err);
    }
  }

  async readUpTo(n: number): Promise<Uint8Array> {
    const out = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const chunk = await this.pull();
      if (!chunk) break;
      const take = Math.min(chunk.length, n - got);
      out.set(chunk.subarray(0, take), got);
      got += take;
      if (take < chunk.length) this.pending = chunk.subarray(take);
    }
    return got === n ? out : out.subarray(0, got);
  }

  async *chunks(limit: number): AsyncIterable<Uint8Array> {
    let remaining = limit;
    while (remaining > 0) {
      const chunk = await this.pull();
      if (!chunk) return;
      if (chunk.length > remaining) {
        this.pending = chunk.subarray(remaining);
        yield chunk.subarray(0, remaining);
        return;
      }
      remaining -= chunk.length;
      yield chunk;
    }
  }

  async close(): Promise<void> {
    // Ends a Readable (destroying it) so that an endless producer stops.
    this.done = true;
    try {
      await this.it.return?.();
    } catch {
      // the producer failed while closing; nothing more to read anyway
    }
  }
}
