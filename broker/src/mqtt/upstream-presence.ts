// Which devices are online, when the backend is a client of another broker and sees no device connect: what each
// device last said on its status channel (sealed, so only the device can say it), newest by the device's clock.
import type { Registry } from '../db/registry.js';

export interface UpstreamPresence {
  /**
   * A stored status message. Returns true when it changes the device's presence: a duplicate (a replay) or one
   * older than the newest seen (the broker reordering them) changes nothing.
   */
  onStatus(deviceId: string, state: 'online' | 'offline', deviceTs: number, duplicate: boolean): boolean;
  online(deviceId: string): boolean;
}

export function createUpstreamPresence(
  registry: Pick<Registry, 'get' | 'setOnline'>,
  write: (f: () => void) => void,
): UpstreamPresence {
  // Since this start; before the first status of a device, what the database last recorded.
  const newest = new Map<string, { ts: number; online: boolean }>();
  return {
    onStatus(deviceId, state, deviceTs, duplicate) {
      if (duplicate) return false;
      const seen = newest.get(deviceId);
      if (seen && seen.ts > deviceTs) return false;
      const online = state === 'online';
      newest.set(deviceId, { ts: deviceTs, online });
      write(() => registry.setOnline(deviceId, online, null));
      return true;
    },
    online(deviceId) {
      return newest.get(deviceId)?.online ?? registry.get(deviceId)?.online === true;
    },
  };
}
