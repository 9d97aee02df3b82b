// The command executor: takes raw payloads from …/cmd, one at a time, authorizes each, runs it through the
// injected actions and answers every one on cmd/ack — accepted then done/failed, or rejected with a reason.
import { randomBytes } from 'node:crypto';
import type { CmdAck, CmdAckReason } from '../../../shared/src/commands/index.js';
import type { Logger } from '../../../shared/src/index.js';
import type { ReplayStore } from '../replay/index.js';
import { authorizeCommand } from './authorize.js';
import type { DeviceStateStore } from './device-state.js';
import { capabilitiesOf, runCommand, type CommandActions } from './handlers.js';
import type { Keyring } from './keyring.js';

export interface CommandExecutorOptions {
  readonly deviceId: string;
  readonly keyring: Keyring;
  readonly replay: ReplayStore;
  readonly actions: CommandActions;
  readonly state: DeviceStateStore;
  /** Stores one acknowledgement for sending (the agent puts it in its outbox). */
  readonly emit: (ack: CmdAck) => void;
  readonly log: Logger;
  readonly toleranceMs: number;
  readonly now?: () => number;
  /** Commands waiting beyond this are dropped (logged): the broker lets only the backend publish here. */
  readonly maxQueue?: number;
}

export interface CommandExecutor {
  /** Queues a payload; resolves with the acknowledgements it produced. Never rejects. */
  handle(payload: Uint8Array): Promise<CmdAck[]>;
  /** Resolves when every queued command has been handled. */
  idle(): Promise<void>;
}

const newId = () => randomBytes(12).toString('base64url');

/** At most 300 characters, and never half a surrogate pair (it would not encode as valid UTF-8). */
const clip = (text: string) =>
  text.slice(0, 300).replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

export function createCommandExecutor(opts: CommandExecutorOptions): CommandExecutor {
  const now = opts.now ?? Date.now;
  const maxQueue = opts.maxQueue ?? 32;
  const capabilities = capabilitiesOf(opts.actions);
  let tail: Promise<unknown> = Promise.resolve();
  let queued = 0;

  function ack(
    out: CmdAck[],
    cmdId: string | null,
    status: CmdAck['status'],
    reason?: CmdAckReason,
    detail?: string,
  ): void {
    const a: CmdAck = {
      v: 1,
      id: newId(),
      ts: now(),
      cmdId,
      status,
      ...(reason ? { reason } : {}),
      ...(detail ? { detail: clip(detail) } : {}),
    };
    out.push(a);
    opts.emit(a);
  }

  async function handleOne(payload: Uint8Array): Promise<CmdAck[]> {
    const out: CmdAck[] = [];
    const d = authorizeCommand(payload, {
      deviceId: opts.deviceId,
      keyring: opts.keyring,
      replay: opts.replay,
      now: now(),
      toleranceMs: opts.toleranceMs,
      capabilities,
      deviceState: () => opts.state.read(),
    });
    if (!d.allow) {
      opts.log.warn('command rejected', {
        cmdId: d.cmdId,
        command: d.command ?? null,
        reason: d.reason,
        detail: d.detail,
        operator: d.key?.name ?? null,
        kid: d.key?.kid ?? null,
        size: payload.length,
      });
      ack(out, d.cmdId, 'rejected', d.reason, d.detail);
      return out;
    }
    const who = { cmdId: d.body.id, command: d.command, operator: d.key.name, kid: d.key.kid, counter: d.body.counter };
    opts.log.info('command accepted', who);
    ack(out, d.body.id, 'accepted');
    try {
      await runCommand(d.command, d.params, opts.actions, opts.state);
      opts.log.info('command done', who);
      ack(out, d.body.id, 'done');
    } catch (err) {
      opts.log.error('command failed', { ...who, error: err as Error });
      ack(out, d.body.id, 'failed', 'execution-failed', (err as Error).message);
    }
    return out;
  }

  return {
    handle(payload) {
      if (queued >= maxQueue) {
        opts.log.warn('command dropped: too many waiting', { queued, size: payload.length });
        return Promise.resolve([]);
      }
      queued++;
      const run = tail
        .then(() => handleOne(payload))
        .catch((err: unknown) => {
          // authorizeCommand and runCommand do not throw; this is a bug guard, never a crash.
          opts.log.error('command handling failed', { error: err as Error });
          return [] as CmdAck[];
        });
      tail = run.finally(() => queued--);
      return run;
    },
    idle: () => tail.then(() => undefined),
  };
}
