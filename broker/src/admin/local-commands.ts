// Signed commands on the server's database: counters reserved per signing key, envelopes checked
// (command-submit.ts) and queued for the relay, and the queue and the devices' acknowledgements read back within
// the devices the caller may see.
import { parsePublicKeyPem } from '../../../shared/src/index.js';
import type { AuditLog } from '../db/audit.js';
import { type CommandRow, createCommandStore } from '../db/commands.js';
import type { Db } from '../db/open.js';
import { FleetError } from '../errors.js';
import { checkSubmittedCommand, type SubmitInput } from './command-submit.js';
import { type CallerContext, cursorOf } from './local-context.js';
import type { CommandAdmin } from './types.js';
import type { OperatorRegistryStore, CommandStore as SharedCommands } from '../store/types.js';

const KID = /^[0-9a-f]{16}$/;
export function localCommands(deps: {
  db: Db;
  operators: OperatorRegistryStore;
  events: AuditLog;
  now: () => number;
  pageSize: (limit?: number) => number;
  /** Something the running server acts on changed (a command to relay). */
  changed: () => void;
  /**
   * The commands of a cluster on PostgreSQL (the store every node shares): queued and read there instead of `db`.
   * Its checks and insert are not one transaction: two nodes taking one counter at once could both queue; the device
   * refuses a counter it has seen.
   */
  shared?: SharedCommands | undefined;
  /** A command was queued for the device (the cluster tells the node holding its session). */
  queued?: (deviceId: string) => void;
}) {
  const store = createCommandStore(deps.db);
  const unknown = (cmdId: string) => new FleetError('FLEET_COMMAND_UNKNOWN', `no command ${cmdId} is queued`);
  const refused = (reason: string, message: string) =>
    new FleetError('FLEET_COMMAND_INVALID', `the command is refused (${reason}): ${message}`, { details: { reason } });

  // The checks and the insert are one transaction, run with the write lock taken first (IMMEDIATE): two
  // submissions with one counter cannot both pass, and no ingest commit can come between a read and the insert.
  const queue = deps.db.transaction(
    (deviceId: string, envelope: Uint8Array, signer: SubmitInput['signer'], actor: string): CommandRow => {
      const now = deps.now();
      const verdict = checkSubmittedCommand({
        deviceId,
        envelope,
        signer,
        reservedCounter: (k) => store.reservedCounter(k),
        counterUsed: (k, c) => store.counterUsed(k, c),
        now,
      });
      if (!verdict.ok) throw refused(verdict.reason, verdict.message);
      const { body, kid, params } = verdict;
      if (store.get(body.id)) throw refused('duplicate-id', `a command ${body.id} is queued already`);
      store.add({
        id: body.id,
        deviceId,
        command: body.command,
        params,
        operator: kid,
        counter: body.counter,
        envelope,
        createdAt: now,
        expiresAt: body.exp,
      });
      deps.events.record({
        event: 'command.queued',
        deviceId,
        actor,
        detail: { cmdId: body.id, command: body.command, params, counter: body.counter, kid },
      });
      return store.get(body.id)!;
    },
  );

  /** The same checks and insert on the shared store, whose counters are read between two runs of the checks. */
  async function queueShared(
    shared: SharedCommands,
    deviceId: string,
    envelope: Uint8Array,
    signer: SubmitInput['signer'],
    actor: string,
  ): Promise<CommandRow> {
    const check = (reserved: number, used: boolean) =>
      checkSubmittedCommand({
        deviceId,
        envelope,
        signer,
        reservedCounter: () => reserved,
        counterUsed: () => used,
        now: deps.now(),
      });
    // First every check but the counters' (which need the key and counter the envelope names).
    const first = check(Number.MAX_SAFE_INTEGER, false);
    if (!first.ok) throw refused(first.reason, first.message);
    const { kid, body } = first;
    const verdict = check(await shared.reservedCounter(kid), await shared.counterUsed(kid, body.counter));
    if (!verdict.ok) throw refused(verdict.reason, verdict.message);
    if (await shared.get(body.id)) throw refused('duplicate-id', `a command ${body.id} is queued already`);
    await shared.add({
      id: body.id,
      deviceId,
      command: body.command,
      params: verdict.params,
      operator: kid,
      counter: body.counter,
      envelope,
      createdAt: deps.now(),
      expiresAt: body.exp,
    });
    deps.events.record({
      event: 'command.queued',
      deviceId,
      actor,
      detail: { cmdId: body.id, command: body.command, params: verdict.params, counter: body.counter, kid },
    });
    return (await shared.get(body.id))!;
  }

  return (ctx: CallerContext): CommandAdmin => {
    /** The key the caller's commands must be signed with: an API operator's registered key; none on the host. */
    const signer = async () => {
      if (ctx.operatorId === undefined) return null;
      const op = await deps.operators.byId(ctx.operatorId);
      if (!op) throw new FleetError('FLEET_OPERATOR_UNKNOWN', 'the operator no longer exists');
      return { kid: op.kid, publicKey: parsePublicKeyPem(op.publicKey, `the key of operator ${op.name}`) };
    };

    const visibleRow = (row: CommandRow | undefined) => (row && ctx.visible(row.deviceId) ? row : undefined);

    return {
      async reserveCounter(kid) {
        const own = (await signer())?.kid;
        if (own !== undefined && kid !== undefined && kid !== own) {
          throw new FleetError('FLEET_COMMAND_INVALID', `an operator reserves counters of its own key ${own} only`);
        }
        const key = own ?? kid;
        if (key === undefined || !KID.test(key)) {
          throw new FleetError('FLEET_COMMAND_INVALID', 'name the signing key by its id (16 hex digits)');
        }
        return { kid: key, counter: deps.shared ? await deps.shared.nextCounter(key) : store.nextCounter(key) };
      },

      async submit(deviceId, envelope) {
        const device = await ctx.device(deviceId);
        if (device.status !== 'active') {
          throw new FleetError('FLEET_DEVICE_REVOKED', `device ${deviceId} is revoked; it receives no commands`);
        }
        const key = await signer();
        const row = deps.shared
          ? await queueShared(deps.shared, deviceId, envelope, key, ctx.actor)
          : queue.immediate(deviceId, envelope, key, ctx.actor);
        deps.changed();
        deps.queued?.(deviceId);
        return row;
      },

      async list(q = {}) {
        const before = cursorOf(q.cursor);
        const limit = deps.pageSize(q.limit);
        if (q.deviceId !== undefined && !ctx.visible(q.deviceId)) return { items: [], next: null };
        // The shared store pages no commands yet: its newest, within what the caller may see.
        if (deps.shared)
          return {
            items: (await deps.shared.list(q.deviceId ?? null, limit)).filter((r) => ctx.visible(r.deviceId)),
            next: null,
          };
        const entries = store.page({
          limit: limit + 1,
          ...(before !== undefined ? { before } : {}),
          ...(q.deviceId !== undefined ? { deviceId: q.deviceId } : { visible: ctx.devices }),
        });
        const shown = entries.slice(0, limit);
        return {
          items: shown.map((e) => e.row),
          next: entries.length > limit ? String(shown.at(-1)!.n) : null,
        };
      },

      async get(cmdId) {
        const row = visibleRow(deps.shared ? await deps.shared.get(cmdId) : store.get(cmdId));
        if (!row) throw unknown(cmdId);
        return row;
      },

      async acks(cmdId, q = {}) {
        const after = cursorOf(q.cursor);
        const row = visibleRow(deps.shared ? await deps.shared.get(cmdId) : store.get(cmdId));
        if (!row) throw unknown(cmdId);
        const limit = deps.pageSize(q.limit);
        const entries = await (deps.shared ?? store).acks({
          cmdId,
          deviceId: row.deviceId,
          limit: limit + 1,
          ...(after !== undefined ? { after } : {}),
        });
        const shown = entries.slice(0, limit);
        return { items: shown.map((e) => e.ack), next: entries.length > limit ? String(shown.at(-1)!.n) : null };
      },
    };
  };
}
