// Connection history: one row per admitted session (who, which certificate, from where, when).
import type { Db } from './open.js';

export type ConnectionLog = ReturnType<typeof createConnectionLog>;

export function createConnectionLog(
  db: Db,
  now: () => number = Date.now,
  defer: (write: () => void) => void = (w) => w(),
) {
  const open = db.prepare(
    'INSERT INTO connections (id, device_id, serial, address, connected_at) VALUES (?, ?, ?, ?, ?)',
  );
  const close = db.prepare('UPDATE connections SET disconnected_at = ? WHERE id = ?');
  const closeAll = db.prepare('UPDATE connections SET disconnected_at = ? WHERE disconnected_at IS NULL');
  // Ids are handed out here, so the row itself can be written later (write-behind) and closed by id.
  let nextId = (db.prepare('SELECT coalesce(max(id), 0) FROM connections').pluck().get() as number) + 1;
  return {
    opened(deviceId: string, serial: string, address: string | null): number {
      const id = nextId++;
      const at = now();
      defer(() => open.run(id, deviceId, serial, address, at));
      return id;
    },
    closed(id: number): void {
      const at = now();
      defer(() => close.run(at, id));
    },
    /** At start-up no session is live; rows left open by a crash are closed at the restart time. */
    closeAll(): void {
      closeAll.run(now());
    },
  };
}
