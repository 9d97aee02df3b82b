// Connections still in their TLS handshake, capped per source address and in total, so half-open sockets cannot
// use up the process's file descriptors and lock out devices that hold a valid certificate.
export interface HandshakeGateOptions {
  /** Handshakes one source address may have in progress; a further connection from it is refused. */
  readonly maxPerAddress: number;
  /** Handshakes in progress over all addresses; a further connection evicts the oldest one. */
  readonly maxTotal: number;
}

/**
 * The outcome for a new connection:
 * - `admitted`: it may handshake;
 * - `admitted-evicting`: it may handshake, and `evicted` (the oldest handshake in progress) must be closed to keep
 *   the total under its cap — a flood's sockets are older than an honest device's fresh one, so the device gets in;
 * - `refused`: its address already has `maxPerAddress` handshakes in progress; close it.
 */
export type HandshakeAdmission<C> =
  | { readonly action: 'admitted' }
  | { readonly action: 'admitted-evicting'; readonly evicted: C; readonly evictedAddress: string }
  | { readonly action: 'refused' };

export type HandshakeGate<C> = ReturnType<typeof createHandshakeGate<C>>;

/**
 * Keeps the handshakes in progress by connection key (any string unique among open connections, such as the
 * 4-tuple), oldest first. Work happens only when a connection opens, finishes its handshake or closes.
 */
export function createHandshakeGate<C>(opts: HandshakeGateOptions) {
  // A Map iterates in insertion order: its first entry is the oldest handshake in progress.
  const pending = new Map<string, { readonly address: string; readonly conn: C }>();
  const perAddress = new Map<string, number>();

  function remove(key: string): void {
    const entry = pending.get(key);
    if (!entry) return;
    pending.delete(key);
    const n = (perAddress.get(entry.address) ?? 1) - 1;
    if (n > 0) perAddress.set(entry.address, n);
    else perAddress.delete(entry.address);
  }

  return {
    admit(key: string, address: string, conn: C): HandshakeAdmission<C> {
      remove(key); // a key seen again belongs to a connection whose close was not yet reported
      if ((perAddress.get(address) ?? 0) >= opts.maxPerAddress) return { action: 'refused' };
      let admission: HandshakeAdmission<C> = { action: 'admitted' };
      if (pending.size >= opts.maxTotal) {
        const [oldestKey, oldest] = pending.entries().next().value!;
        remove(oldestKey);
        admission = { action: 'admitted-evicting', evicted: oldest.conn, evictedAddress: oldest.address };
      }
      pending.set(key, { address, conn });
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
      return admission;
    },
    /** The handshake finished, failed or the connection closed; a key not in progress is ignored. */
    settle(key: string, conn?: C): void {
      if (conn === undefined || pending.get(key)?.conn === conn) remove(key);
    },
    /** The connections in progress, oldest first. */
    *connections(): IterableIterator<C> {
      for (const entry of pending.values()) yield entry.conn;
    },
    /** Handshakes in progress. */
    get size(): number {
      return pending.size;
    },
    /** Source addresses with a handshake in progress. */
    get addresses(): number {
      return perAddress.size;
    },
  };
}
