// Calls that arrive while a statement is under way wait and go together into the next one. Under a storm of
// CONNECTs every device's online flag would otherwise be its own round trip to PostgreSQL, and on a busy machine
// each socket write costs about as much as the statement's work. The first call of a quiet moment runs at once.

/** `run` writes a batch; each call resolves (or rejects) with the batch it went in. */
export function batched<T>(run: (items: T[]) => Promise<void>): (item: T) => Promise<void> {
  let queue: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  let running = false;
  async function drain(): Promise<void> {
    running = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        await run(batch.map((b) => b.item));
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    running = false;
  }
  return (item) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!running) void drain();
    });
}
