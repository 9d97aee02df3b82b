// Relays signed commands from the shared fleet store (a cluster on PostgreSQL) to the devices connected to this
// node: everything open when a device subscribes to its command topic, and a new one when it is queued (on this node
// or, told over the cluster bus, on another), until the device acknowledges it or it expires. The async twin of
// command-relay.ts; each device's sends run one after another, so a command goes once per subscription.
import { deviceTopic, type Logger } from '../../../shared/src/index.js';
import type { Sessions } from '../mqtt/sessions.js';
import type { CommandStore } from '../store/types.js';

export interface StoreCommandRelay {
  /** A command was queued for the device: send it if the device is here and subscribed. */
  onQueued(deviceId: string): void;
  /** The device subscribed to its command topic: send it everything still open. */
  onSubscribed(deviceId: string): void;
  onDisconnected(deviceId: string): void;
  /** Waits for the sends under way. */
  settled(): Promise<void>;
}

export function createStoreCommandRelay(deps: {
  commands: Pick<CommandStore, 'openFor' | 'markSent'>;
  sessions: Sessions;
  publish: (topic: string, payload: Buffer) => Promise<void>;
  log: Logger;
  now?: () => number;
}): StoreCommandRelay {
  const now = deps.now ?? Date.now;
  /** Per subscribed device, the commands sent on its current subscription. */
  const delivered = new Map<string, Set<string>>();
  const running = new Map<string, Promise<void>>();

  async function sendOpen(deviceId: string, seen: Set<string>): Promise<void> {
    for (const c of await deps.commands.openFor(deviceId, now())) {
      // The device unsubscribed or went away meanwhile: its next subscription sends everything again.
      if (delivered.get(deviceId) !== seen || seen.has(c.id)) continue;
      seen.add(c.id);
      await deps.commands.markSent(c.id, now());
      deps
        .publish(deviceTopic(deviceId, 'cmd'), Buffer.from(c.envelope))
        .catch((err: unknown) => deps.log.warn('command not relayed', { deviceId, cmdId: c.id, error: err as Error }));
      deps.log.info('command relayed', { deviceId, cmdId: c.id });
    }
  }

  function schedule(deviceId: string): void {
    const seen = delivered.get(deviceId);
    if (!seen) return;
    const next = (running.get(deviceId) ?? Promise.resolve())
      .then(() => sendOpen(deviceId, seen))
      .catch((err: Error) =>
        deps.log.warn('open commands not read from the store; sent on the next subscription', {
          deviceId,
          code: (err as { code?: string }).code ?? 'INTERNAL',
          error: err,
        }),
      )
      .finally(() => {
        if (running.get(deviceId) === next) running.delete(deviceId);
      });
    running.set(deviceId, next);
  }

  return {
    onQueued(deviceId) {
      if (deps.sessions.get(deviceId)) schedule(deviceId);
    },
    onSubscribed(deviceId) {
      delivered.set(deviceId, new Set());
      schedule(deviceId);
    },
    onDisconnected(deviceId) {
      delivered.delete(deviceId);
    },
    async settled() {
      await Promise.all(running.values());
    },
  };
}
