// Small bookkeeping writes (connection history, online flags) gathered per event-loop turn into one
// transaction: one commit (and one fsync) per turn instead of two per connecting device.
import type { Db } from './open.js';

export interface WriteBehind {
  run(write: () => void): void;
  /** Commits what is queued now (on close). */
  flush(): void;
}

export function createWriteBehind(db: Db, onError: (err: unknown) => void): WriteBehind {
  let queue: (() => void)[] = [];
  let scheduled = false;
  const commit = db.transaction((writes: (() => void)[]) => {
    for (const w of writes) w();
  });
  function flush(): void {
    scheduled = false;
    if (queue.length === 0 || !db.open) return;
    const writes = queue;
    queue = [];
    try {
      commit.immediate(writes);
    } catch (err) {
      onError(err);
    }
  }
  return {
    run(write) {
      queue.push(write);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
