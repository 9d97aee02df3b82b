// Notices changes other processes commit to the fleet database (the CLI revoking a device, queuing a
// command) through SQLite's data_version, which an idle poll reads for the cost of one PRAGMA.
import type { Db } from '../db/open.js';

export interface DbWatch {
  on(listener: () => void): void;
  check(): void;
  close(): void;
}

export function watchDb(db: Db, intervalMs = 250): DbWatch {
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  const listeners: (() => void)[] = [];
  let last = dataVersion.get() as number;
  const check = () => {
    const v = dataVersion.get() as number;
    if (v === last) return;
    last = v;
    for (const l of listeners) l();
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return { on: (l) => void listeners.push(l), check, close: () => clearInterval(timer) };
}
