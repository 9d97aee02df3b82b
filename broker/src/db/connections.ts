// Connection history: one row per admitted session (who, which certificate, from where, when).
import type { Db } from './open.js';

export type ConnectionLog = ReturnType<typeof createConnectionLog>;

export function createConnectionLog(db: Db, now: () => number = Date.now) {
  const open = db.prepare('INSERT INTO connections (device_id, serial, address, connected_at) VALUES (?, ?, ?, ?)');
  const close = db.prepare('UPDATE connections SET disconnected_at = ? WHERE id = ?');
  const closeAll = db.prepare('UPDATE connections SET disconnected_at = ? WHERE disconnected_at IS NULL');
  return {
    opened(deviceId: string, serial: string, address: string | null): number {
      return Number(open.run(deviceId, serial, address, now()).lastInsertRowid);
    },
    closed(id: number): void {
      close.run(now(), id);
    },
    /** At start-up no session is live; rows left open by a crash are closed at the restart time. */
    closeAll(): void {
      closeAll.run(now());
    },
  };
}
