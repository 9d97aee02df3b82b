// Live device sessions: which certificate and address each connected client presented.
import type { Client } from 'aedes';

export interface Session {
  readonly deviceId: string;
  readonly serial: string;
  readonly fingerprint: string;
  readonly address: string | null;
  readonly deviceType: string;
  readonly connectedAt: number;
  readonly client: Client;
  /** What closes its row in the connection history (db/connections.ts ConnectionLog). */
  readonly connectionId: number;
}

export type Sessions = ReturnType<typeof createSessions>;

export function createSessions() {
  const byClient = new WeakMap<Client, Session>();
  const ended = new WeakSet<Client>();
  const live = new Map<string, Session>();
  return {
    add(s: Session): void {
      byClient.set(s.client, s);
      live.set(s.deviceId, s);
    },
    of(client: Client): Session | undefined {
      return byClient.get(client);
    },
    /**
     * Forget a closed client; a newer session of the same device is kept. Only the first call for a client hands
     * back its session: a client that closed before it finished connecting may be seen to end twice, by its
     * connection's close and by aedes' clientDisconnect (broker.ts). `of` still names it after, for the will aedes
     * publishes on its behalf.
     */
    remove(client: Client): Session | undefined {
      const s = byClient.get(client);
      if (!s || ended.has(client)) return undefined;
      ended.add(client);
      if (live.get(s.deviceId)?.client === client) live.delete(s.deviceId);
      return s;
    },
    get(deviceId: string): Session | undefined {
      return live.get(deviceId);
    },
    all(): IterableIterator<Session> {
      return live.values();
    },
    get size(): number {
      return live.size;
    },
  };
}
