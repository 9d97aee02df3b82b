// Connection history: one row per admitted session (who, which certificate, from where, when).
import type { Db } from './open.js';

/** Records the admitted sessions: `opened` hands back the handle that closes the session's row. */
export interface ConnectionLog {
  opened(deviceId: string, serial: string, address: string | null): number;
  closed(id: number): void;
}

export function createConnectionLog(
  db: Db,
  now: () => number = Date.now,
  defer: (write: () => void) => void = (w) => w(),
): ConnectionLog & { closeAll(): void } {
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

/**
 * Cluster nodes' sessions (the store's ConnectionStore on SQLite; store/postgres/connections.ts on PostgreSQL): rows
 * carry their node and are closed by (node, device, connected_at) rather than by an id handed out here.
 */
export function createNodeConnections(db: Db) {
  const open = db.prepare(
    'INSERT INTO connections (node, device_id, serial, address, connected_at) VALUES (?, ?, ?, ?, ?)',
  );
  const close = db.prepare(
    'UPDATE connections SET disconnected_at = ? WHERE node = ? AND device_id = ? AND connected_at = ? ' +
      'AND disconnected_at IS NULL',
  );
  const openNodes = db
    .prepare('SELECT DISTINCT node FROM connections WHERE disconnected_at IS NULL AND node IS NOT NULL')
    .pluck();
  return {
    opened(c: { node: string; deviceId: string; serial: string; address: string | null; connectedAt: number }): void {
      open.run(c.node, c.deviceId, c.serial, c.address, c.connectedAt);
    },
    closed(c: { node: string; deviceId: string; connectedAt: number; at: number }): void {
      close.run(c.at, c.node, c.deviceId, c.connectedAt);
    },
    openNodes: (): string[] => openNodes.all() as string[],
    closeNodes(nodes: readonly string[], at: number): number {
      const marks = nodes.map(() => '?').join(', ');
      const sql =
        'UPDATE connections SET disconnected_at = ? WHERE disconnected_at IS NULL AND ' +
        (nodes.length > 0 ? `(node IN (${marks}) OR node IS NULL)` : 'node IS NULL');
      return db.prepare(sql).run(at, ...nodes).changes;
    },
  };
}
