// Every check a command must pass before it may run, in a fixed order (docs/commands.md): envelope, key,
// signature, body, device, expiry, replay (recorded here, before anything runs), command, permission,
// capability, parameters. The first failure decides the reason code; nothing here throws.
import {
  COMMANDS,
  decodeCommandBody,
  isCommandName,
  openEnvelope,
  peekCommandId,
  validateOnDevice,
  verifyCommandSignature,
  type Capability,
  type CmdAckReason,
  type CommandBody,
  type CommandName,
  type DeviceState,
} from '../../../shared/src/commands/index.js';
import type { Decision } from '../../../shared/src/index.js';
import { formatIssues } from '../../../shared/src/schema.js';
import type { ReplayStore } from '../replay/index.js';
import type { Keyring, OperatorKey } from './keyring.js';

export interface AuthorizeContext {
  readonly deviceId: string;
  readonly keyring: Keyring;
  readonly replay: ReplayStore;
  /** The device clock, ms. */
  readonly now: number;
  /** Slack on the expiry check, ms. */
  readonly toleranceMs: number;
  readonly capabilities: ReadonlySet<Capability>;
  readonly deviceState: () => DeviceState;
}

/** Allowed: the verified command, ready to run. Refused: the cmd/ack reason, and what is known of the command. */
export type CommandDecision = Decision<
  CmdAckReason,
  { body: CommandBody; key: OperatorKey; command: CommandName; params: Record<string, unknown> },
  { detail: string; cmdId: string | null; key?: OperatorKey; command?: string }
>;

const iso = (ms: number) => (Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms));

export function authorizeCommand(payload: Uint8Array, ctx: AuthorizeContext): CommandDecision {
  const opened = openEnvelope(payload);
  if (!opened.ok) return { allow: false, reason: opened.reason, detail: opened.detail, cmdId: null };
  const env = opened.envelope;
  const unverifiedId = () => peekCommandId(env.bodyBytes);
  const key = ctx.keyring.get(env.kid);
  if (!key)
    return {
      allow: false,
      reason: 'unknown-key',
      detail: `key ${Buffer.from(env.kid).toString('hex')} is not in this device's operator keyring`,
      cmdId: unverifiedId(),
    };
  if (!verifyCommandSignature(env, key.publicKey))
    return {
      allow: false,
      reason: 'bad-signature',
      detail: `the signature does not verify with ${key.name}'s key ${key.kid}`,
      cmdId: unverifiedId(),
      key,
    };

  const decoded = decodeCommandBody(env.bodyBytes);
  if (!decoded.ok) return { allow: false, reason: decoded.reason, detail: decoded.detail, cmdId: unverifiedId(), key };
  const body = decoded.body;
  const refuse = (reason: CmdAckReason, detail: string): CommandDecision => ({
    allow: false,
    reason,
    detail,
    cmdId: body.id,
    key,
    command: body.command,
  });

  if (body.deviceId !== ctx.deviceId)
    return refuse('wrong-device', `the command is for ${body.deviceId}, this is ${ctx.deviceId}`);
  if (ctx.now > body.exp + ctx.toleranceMs) {
    return refuse(
      'expired',
      `expired at ${iso(body.exp)}; device clock ${iso(ctx.now)}, tolerance ${ctx.toleranceMs / 1000} s`,
    );
  }
  // From here on the command is authentic, for us and current: it is judged exactly once, whatever the outcome.
  ctx.replay.prune(ctx.now - ctx.toleranceMs);
  const admission = ctx.replay.admit({
    kid: key.kid,
    nonce: Buffer.from(body.nonce).toString('hex'),
    counter: body.counter,
    exp: body.exp,
    cmdId: body.id,
  });
  if (admission === 'nonce-seen') return refuse('replay', 'this nonce was used before');
  if (admission === 'counter-stale')
    return refuse(
      'replay',
      `counter ${body.counter} is not above ${ctx.replay.lastCounter(key.kid)}, the last accepted from ${key.name}`,
    );

  if (!isCommandName(body.command))
    return refuse('unknown-command', `${body.command} is not a command this agent knows`);
  if (!ctx.keyring.allows(key, body.command))
    return refuse('not-allowed', `${key.name}'s key may not send ${body.command}`);
  const capability = COMMANDS[body.command].capability;
  if (!ctx.capabilities.has(capability)) return refuse('unsupported', `this device has no ${capability} capability`);
  const checked = validateOnDevice(body.command, body.params, ctx.deviceState());
  if (!checked.ok) return refuse('out-of-range', formatIssues(checked.issues));
  return { allow: true, body, key, command: body.command, params: checked.params };
}
