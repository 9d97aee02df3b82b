// Relays signed commands from the database to devices: when one is queued for a connected device, and again
// each time a device (re)subscribes to its command topic, until the device acknowledges it or it expires.
import { deviceTopic, type Logger } from '../../../shared/src/index.js';
import type { CommandStore } from '../db/commands.js';
import type { Sessions } from '../mqtt/sessions.js';

export interface CommandRelay {
  /** Something changed in the database: expire old commands, send new ones to connected devices. */
  onDbChange(): void;
  /** The device subscribed to its command topic: send it everything still open. */
  onSubscribed(deviceId: string): void;
  onDisconnected(deviceId: string): void;
}

export function createCommandRelay(deps: {
  commands: CommandStore;
  sessions: Sessions;
  publish: (topic: string, payload: Buffer) => Promise<void>;
  log: Logger;
  now?: () => number;
  /** Whether a new command can be sent to the device now (default: it has a session and subscribed). */
  reachable?: (deviceId: string) => boolean;
}): CommandRelay {
  const now = deps.now ?? Date.now;
  // A device sees each open command once per subscription; redelivery happens on its next (re)connect.
  const delivered = new Map<string, Set<string>>();

  function sendOpen(deviceId: string, onlyNew: boolean): void {
    const seen = delivered.get(deviceId) ?? new Set<string>();
    delivered.set(deviceId, seen);
    for (const c of deps.commands.openFor(deviceId, now())) {
      if (onlyNew && seen.has(c.id)) continue;
      seen.add(c.id);
      deps.commands.markSent(c.id, now());
      deps
        .publish(deviceTopic(deviceId, 'cmd'), c.envelope)
        .catch((err: unknown) => deps.log.warn('command not relayed', { deviceId, cmdId: c.id, error: err as Error }));
      deps.log.info('command relayed', { deviceId, cmdId: c.id });
    }
  }

  return {
    onDbChange() {
      deps.commands.expire(now());
      for (const deviceId of deps.commands.devicesWithPending(now())) {
        if (deps.reachable ? deps.reachable(deviceId) : deps.sessions.get(deviceId) && delivered.has(deviceId))
          sendOpen(deviceId, true);
      }
    },
    onSubscribed(deviceId) {
      delivered.delete(deviceId);
      sendOpen(deviceId, false);
    },
    onDisconnected(deviceId) {
      delivered.delete(deviceId);
    },
  };
}
