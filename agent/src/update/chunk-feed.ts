// A push-to-pull bridge with backpressure between the download and the streaming verifier, so that a bundle is
// hashed and written to the inactive slot while it arrives (one pass over the bytes, as curl + sha256sum would
// be two). The download pushes each chunk as it writes it; push() resolves when the verifier is done with it (it
// asks for the next), so at most one chunk is in flight and the pusher may reuse its buffer. When the verifier
// stops pulling (it has its verdict: a bad signature refuses the bundle before its payload), push() rejects with
// that verdict and the download stops.

export interface ChunkFeed {
  /** What the verifier reads. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Hands over a chunk; resolves once the reader is done with it, rejects once the reader is gone. */
  push(chunk: Uint8Array): Promise<void>;
  /** No more chunks: the reader sees the end of the input. */
  end(): void;
  /** The reader is done (its verdict is `reason`, or it simply stopped): later pushes reject. */
  close(reason?: Error): void;
}

export function createChunkFeed(): ChunkFeed {
  // Pushes not taken yet, oldest first: one, when the pusher awaits each push as the download does.
  const waiting: { chunk: Uint8Array; taken: () => void; refused: (e: Error) => void }[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let closed: Error | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    chunks: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const w = waiting.shift();
          if (w) {
            try {
              yield w.chunk;
            } finally {
              // Taken once the reader is done with it: it asks for the next chunk, or stops. Only then may the
              // pusher reuse the chunk's memory.
              w.taken();
            }
            continue;
          }
          if (ended || closed) return;
          await new Promise<void>((r) => (wake = r));
        }
      },
    },
    push(chunk) {
      if (closed) return Promise.reject(closed);
      if (ended) return Promise.reject(new Error('push after end'));
      return new Promise<void>((taken, refused) => {
        waiting.push({ chunk, taken, refused });
        poke();
      });
    },
    end() {
      ended = true;
      poke();
    },
    close(reason) {
      const why = reason ?? new Error('the reader stopped');
      closed = why;
      for (const w of waiting.splice(0)) w.refused(why);
      poke();
    },
  };
}
