// Commands as the fleet server keeps them: queued by `fleet cmd send`, relayed to devices, closed by their acks.
import type { CmdAck } from '../../../shared/src/commands/index.js';
import type { Db } from './open.js';

export type CommandStatus = 'pending' | 'sent' | 'accepted' | 'done' | 'rejected' | 'failed' | 'expired';

export interface CommandRow {
  id: string;
  deviceId: string;
  command: string;
  params: unknown;
  operator: string;
  /** The operator whose registered key `operator` is; null for a key no operator holds (fleet operator-key). */
  signedBy: string | null;
  status: CommandStatus;
  reason: string | null;
  detail: string | null;
  attempts: number;
  createdAt: string;
  expiresAt: string;
}

/** A device's acknowledgement of a command, as the server stored it. */
export interface CommandAckRow {
  status: CmdAck['status'];
  reason: string | null;
  detail: string | null;
  /** The device's own time of the acknowledgement. */
  deviceTs: string;
  receivedAt: string;
}

/** A commands row with its signer's name, as both store engines read it. */
export interface RawRow {
  id: string;
  device_id: string;
  command: string;
  params: string;
  operator: string;
  signed_by: string | null;
  status: CommandStatus;
  reason: string | null;
  detail: string | null;
  attempts: number;
  created_at: number;
  expires_at: number;
}

export const commandRowOf = (r: RawRow): CommandRow => ({
  id: r.id,
  deviceId: r.device_id,
  command: r.command,
  params: JSON.parse(r.params),
  operator: r.operator,
  signedBy: r.signed_by,
  status: r.status,
  reason: r.reason,
  detail: r.detail,
  attempts: r.attempts,
  createdAt: new Date(r.created_at).toISOString(),
  expiresAt: new Date(r.expires_at).toISOString(),
});

/** Which acknowledgement may move a command to which status: never backwards, never out of a final state. */
export const MOVES_FROM: Record<CmdAck['status'], readonly CommandStatus[]> = {
  accepted: ['pending', 'sent'],
  rejected: ['pending', 'sent'],
  done: ['pending', 'sent', 'accepted'],
  failed: ['pending', 'sent', 'accepted'],
};

export type CommandStore = ReturnType<typeof createCommandStore>;

export function createCommandStore(db: Db) {
  const bumpCounter = db
    .prepare(
      `INSERT INTO operator_counters (kid, counter) VALUES (?, 1) ON CONFLICT(kid) DO UPDATE SET counter = ` +
        `counter + 1 RETURNING counter`,
    )
    .pluck();
  const insert = db.prepare(
    `INSERT INTO commands (id, device_id, command, params, operator, counter, envelope, created_at, expires_at, status)
     VALUES (@id, @deviceId, @command, @params, @operator, @counter, @envelope, @createdAt, @expiresAt, 'pending')`,
  );
  const open = db.prepare(
    `SELECT id, envelope FROM commands WHERE device_id = ? AND status IN ('pending', 'sent') AND ` +
      `expires_at > ? ORDER BY counter`,
  );
  const openDevices = db
    .prepare(`SELECT DISTINCT device_id FROM commands WHERE status = 'pending' AND expires_at > ?`)
    .pluck();
  const markSent = db.prepare(
    `UPDATE commands SET status = CASE status WHEN 'pending' THEN 'sent' ELSE status END, attempts = attempts ` +
      `+ 1, sent_at = ? WHERE id = ?`,
  );
  const expire = db.prepare(
    `UPDATE commands SET status = 'expired' WHERE status IN ('pending', 'sent') AND expires_at <= ?`,
  );
  const anyExpired = db
    .prepare(`SELECT 1 FROM commands WHERE status IN ('pending', 'sent') AND expires_at <= ? LIMIT 1`)
    .pluck();
  const insertAck = db.prepare(
    `INSERT INTO command_acks (device_id, cmd_id, status, reason, detail, device_ts, received_at) VALUES ` +
      `(?, ?, ?, ?, ?, ?, ?)`,
  );
  // Every read names the signer: the operator registered with the key (operators.kid is UNIQUE).
  const withSigner =
    'SELECT c.rowid AS n, c.*, o.name AS signed_by FROM commands c LEFT JOIN operators o ON o.kid = c.operator';
  const get = db.prepare(`${withSigner} WHERE c.id = ?`);
  const list = db.prepare(
    `${withSigner} WHERE (@device IS NULL OR c.device_id = @device) ORDER BY c.created_at DESC LIMIT @limit`,
  );
  // Pages newest first by rowid (insertion order; unique, unlike created_at), all or one device's (commands_device).
  const pageAll = db.prepare(
    `${withSigner} WHERE c.rowid < @before
       AND (@visible IS NULL OR c.device_id IN (SELECT value FROM json_each(@visible)))
     ORDER BY c.rowid DESC LIMIT @limit`,
  );
  const pageDevice = db.prepare(
    `${withSigner} WHERE c.device_id = @device AND c.rowid < @before ORDER BY c.rowid DESC LIMIT @limit`,
  );
  // Only the acknowledgements of the command's own device count: any device may name any command id in its acks.
  const acksOf = db.prepare(
    `SELECT id, status, reason, detail, device_ts, received_at FROM command_acks
      WHERE cmd_id = @cmdId AND device_id = @deviceId AND id > @after ORDER BY id LIMIT @limit`,
  );
  const counterOf = db.prepare('SELECT counter FROM operator_counters WHERE kid = ?').pluck();
  const counterUsed = db.prepare('SELECT 1 FROM commands WHERE operator = ? AND counter = ? LIMIT 1').pluck();
  const moves = Object.fromEntries(
    Object.entries(MOVES_FROM).map(([to, from]) => [
      to,
      db.prepare(
        `UPDATE commands SET status = ?, reason = ?, detail = ?, acked_at = ? WHERE id = ? AND device_id = ? AND ` +
          `status IN (${from.map((f) => `'${f}'`).join(', ')})`,
      ),
    ]),
  );

  return {
    /** Reserves the next counter of an operator key (strictly increasing across every device). */
    nextCounter(kid: string): number {
      return bumpCounter.get(kid) as number;
    },
    add(c: {
      id: string;
      deviceId: string;
      command: string;
      params: unknown;
      operator: string;
      counter: number;
      envelope: Uint8Array;
      createdAt: number;
      expiresAt: number;
    }): void {
      insert.run({ ...c, params: JSON.stringify(c.params) });
    },
    /** Open (unacknowledged, unexpired) commands of a device, in signing order. */
    openFor(deviceId: string, now = Date.now()): { id: string; envelope: Buffer }[] {
      return open.all(deviceId, now) as { id: string; envelope: Buffer }[];
    },
    devicesWithPending(now = Date.now()): string[] {
      return openDevices.all(now) as string[];
    },
    markSent(id: string, now = Date.now()): void {
      markSent.run(now, id);
    },
    /**
     * Marks open commands past their expiry. Runs on every database change, so it writes only when one is due:
     * an UPDATE takes the write lock even when it changes nothing, and waits (asleep) while ingest commits.
     */
    expire(now = Date.now()): number {
      return anyExpired.get(now) === undefined ? 0 : expire.run(now).changes;
    },
    /** Records an acknowledgement and moves its command forward (only a command of that device). */
    applyAck(deviceId: string, ack: CmdAck, receivedAt: number): void {
      insertAck.run(deviceId, ack.cmdId, ack.status, ack.reason ?? null, ack.detail ?? null, ack.ts, receivedAt);
      if (ack.cmdId)
        moves[ack.status]!.run(ack.status, ack.reason ?? null, ack.detail ?? null, receivedAt, ack.cmdId, deviceId);
    },
    get(id: string): CommandRow | undefined {
      const r = get.get(id) as RawRow | undefined;
      return r && commandRowOf(r);
    },
    list(deviceId: string | null, limit = 50): CommandRow[] {
      return (list.all({ device: deviceId, limit }) as RawRow[]).map(commandRowOf);
    },
    /**
     * Up to `limit` commands, newest first, below position `before` (a previous entry's `n`): of one device, or of
     * every device in `visible` (null: all).
     */
    page(q: {
      before?: number;
      deviceId?: string;
      visible?: readonly string[] | null;
      limit: number;
    }): { n: number; row: CommandRow }[] {
      const before = q.before ?? Number.MAX_SAFE_INTEGER;
      const raw = (
        q.deviceId !== undefined
          ? pageDevice.all({ device: q.deviceId, before, limit: q.limit })
          : pageAll.all({ visible: q.visible ? JSON.stringify(q.visible) : null, before, limit: q.limit })
      ) as (RawRow & { n: number })[];
      return raw.map((r) => ({ n: r.n, row: commandRowOf(r) }));
    },
    /** Up to `limit` acknowledgements of a command by its device, oldest first, after position `after`. */
    acks(q: { cmdId: string; deviceId: string; after?: number; limit: number }): { n: number; ack: CommandAckRow }[] {
      const raw = acksOf.all({ cmdId: q.cmdId, deviceId: q.deviceId, after: q.after ?? 0, limit: q.limit }) as {
        id: number;
        status: CmdAck['status'];
        reason: string | null;
        detail: string | null;
        device_ts: number;
        received_at: number;
      }[];
      return raw.map((r) => ({
        n: r.id,
        ack: {
          status: r.status,
          reason: r.reason,
          detail: r.detail,
          deviceTs: new Date(r.device_ts).toISOString(),
          receivedAt: new Date(r.received_at).toISOString(),
        },
      }));
    },
    /** The last counter reserved for an operator key (0 when none was). */
    reservedCounter(kid: string): number {
      return (counterOf.get(kid) as number | undefined) ?? 0;
    },
    /** Whether a command signed by this key with this counter was queued already. */
    counterUsed(kid: string, counter: number): boolean {
      return counterUsed.get(kid, counter) !== undefined;
    },
  };
}
