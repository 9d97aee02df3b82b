// The connection history on PostgreSQL: every cluster node writes the sessions it admits and closes them. Opens and
// closes go through one batched writer (batched.ts), in the order made: under a storm of CONNECTs they cost one
// statement per round trip, not one each. A row is named by (node, device, connected_at): its node keeps that unique
// among the open rows.
import type { ConnectionChange, ConnectionStore } from '../types.js';
import { batched } from './batched.js';
import type { PgPool } from './pool.js';

type Opened = Extract<ConnectionChange, { kind: 'opened' }> & { disconnectedAt: number | null };
type Closed = Extract<ConnectionChange, { kind: 'closed' }>;

const keyOf = (c: ConnectionChange) => `${c.node}\u0000${c.deviceId}\u0000${c.connectedAt}`;

export function createPgConnections(pool: PgPool): ConnectionStore {
  const write = batched<ConnectionChange>(async (changes) => {
    // In the order made: a session opened and closed within one batch is written closed; the other closes update
    // rows of earlier batches, which the statement's UPDATE sees (its INSERT's rows it does not, and need not). A
    // key names one open row at a time, so a key closed here may be opened again by a later change.
    const rows: Opened[] = [];
    const openHere = new Map<string, Opened>();
    const closed: Closed[] = [];
    for (const c of changes) {
      const key = keyOf(c);
      if (c.kind === 'opened') {
        const row = { ...c, disconnectedAt: null };
        rows.push(row);
        openHere.set(key, row);
        continue;
      }
      const row = openHere.get(key);
      if (!row) closed.push(c);
      else {
        row.disconnectedAt = c.at;
        openHere.delete(key);
      }
    }
    await pool.query(
      'connections.record',
      `WITH closed AS (
         UPDATE connections c SET disconnected_at = v.at
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS v(node, device_id, connected_at, at)
          WHERE c.node = v.node AND c.device_id = v.device_id AND c.connected_at = v.connected_at
            AND c.disconnected_at IS NULL)
       INSERT INTO connections (node, device_id, serial, address, connected_at, disconnected_at)
       SELECT * FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[])`,
      [
        closed.map((c) => c.node),
        closed.map((c) => c.deviceId),
        closed.map((c) => c.connectedAt),
        closed.map((c) => c.at),
        rows.map((r) => r.node),
        rows.map((r) => r.deviceId),
        rows.map((r) => r.serial),
        rows.map((r) => r.address),
        rows.map((r) => r.connectedAt),
        rows.map((r) => r.disconnectedAt),
      ],
    );
  });
  return {
    record: write,
    async openNodes() {
      const r = await pool.query<{ node: string }>(
        'connections.openNodes',
        'SELECT DISTINCT node FROM connections WHERE disconnected_at IS NULL AND node IS NOT NULL',
      );
      return r.rows.map((x) => x.node);
    },
    async closeNodes(nodes, at) {
      const r = await pool.query(
        'connections.closeNodes',
        'UPDATE connections SET disconnected_at = $2 ' +
          'WHERE disconnected_at IS NULL AND (node = ANY($1) OR node IS NULL)',
        [[...nodes], at],
      );
      return r.rowCount ?? 0;
    },
  };
}
