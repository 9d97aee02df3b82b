// Hostile commands through the server's own command queue (the `commands` table the relay sends from), as an
// attacker who controls the backend could queue them: forged (unknown key), tampered (body changed after
// signing) and replayed (an executed envelope queued again). The device must refuse each, and say why.
import { decode, encode } from '../../../shared/src/index.js';
import { generateKeyPair, keyId, type Ed25519KeyPair } from '../../../shared/src/crypto/index.js';
import { newCommandBody, signCommand } from '../../../shared/src/commands/index.js';
import { createCommandStore, type CommandStore } from '../../../broker/src/db/commands.js';
import type { Db } from '../../../broker/src/db/open.js';
import { openFleetDb } from '../../../broker/src/fleet/data-dir.js';

export interface QueuedCommand {
  readonly cmdId: string;
  readonly deviceId: string;
  readonly envelope: Buffer;
  /** Reasons the device may give when it refuses it. */
  readonly expected: readonly string[];
}

export interface CommandQueue {
  /** Signed by a key no device trusts. */
  forged(deviceId: string): QueuedCommand;
  /** Signed by the real operator key, then its parameters changed. */
  tampered(deviceId: string): QueuedCommand;
  /** A genuine command (scan-now: the device scans and sends an exposure report). */
  genuine(deviceId: string): QueuedCommand;
  /** The same envelope queued again (a new queue row, the same signed bytes). */
  replay(original: QueuedCommand): QueuedCommand;
  close(): void;
}

const TTL_MS = 60_000;
const REPLAY_TTL_MS = 15_000;

export function openCommandQueue(dataDir: string, operator: Ed25519KeyPair): CommandQueue {
  const db: Db = openFleetDb(dataDir);
  const store: CommandStore = createCommandStore(db);
  const attacker = generateKeyPair();
  const operatorKid = keyId(operator.publicKey);
  const attackerKid = keyId(attacker.publicKey);
  let replays = 0;

  function queue(
    rowId: string,
    deviceId: string,
    command: string,
    params: Record<string, unknown>,
    kid: string,
    counter: number,
    envelope: Buffer,
    ttlMs = TTL_MS,
  ): void {
    const now = Date.now();
    store.add({
      id: rowId,
      deviceId,
      command,
      params,
      operator: kid,
      counter,
      envelope,
      createdAt: now,
      expiresAt: now + ttlMs,
    });
  }

  return {
    forged(deviceId) {
      const params = { channel: 0, state: 'on' };
      const body = newCommandBody({
        deviceId,
        command: 'set-relay',
        params,
        counter: store.nextCounter(attackerKid),
        ttlMs: TTL_MS,
      });
      const envelope = signCommand(body, attacker.secretKey);
      queue(body.id, deviceId, 'set-relay', params, attackerKid, body.counter, envelope);
      return { cmdId: body.id, deviceId, envelope, expected: ['unknown-key'] };
    },
    tampered(deviceId) {
      const params = { channel: 0, state: 'off' };
      const body = newCommandBody({
        deviceId,
        command: 'set-relay',
        params,
        counter: store.nextCounter(operatorKid),
        ttlMs: TTL_MS,
      });
      const signed = decode(signCommand(body, operator.secretKey)) as {
        v: 1;
        body: Uint8Array;
        kid: Uint8Array;
        sig: Uint8Array;
      };
      // "off" becomes "on" after signing: the signature no longer covers these bytes.
      const changed = encode({ ...body, params: { channel: 0, state: 'on' } });
      const envelope = encode({ ...signed, body: changed });
      queue(body.id, deviceId, 'set-relay', params, operatorKid, body.counter, envelope);
      return { cmdId: body.id, deviceId, envelope, expected: ['bad-signature'] };
    },
    genuine(deviceId) {
      const body = newCommandBody({
        deviceId,
        command: 'scan-now',
        params: {},
        counter: store.nextCounter(operatorKid),
        ttlMs: TTL_MS,
      });
      const envelope = signCommand(body, operator.secretKey);
      queue(body.id, deviceId, 'scan-now', {}, operatorKid, body.counter, envelope);
      return { cmdId: body.id, deviceId, envelope, expected: [] };
    },
    replay(original) {
      // A new queue row (the table's key is the row id) carrying the very same signed bytes.
      // The acknowledgement names the original command, so this row is never closed: a short life keeps the
      // relay from offering it again to the device after a reconnect (or in the next run).
      queue(
        `${original.cmdId.slice(0, 40)}-replay${++replays}`,
        original.deviceId,
        'scan-now',
        {},
        operatorKid,
        0,
        original.envelope,
        REPLAY_TTL_MS,
      );
      return { ...original, expected: ['replay'] };
    },
    close: () => db.close(),
  };
}
