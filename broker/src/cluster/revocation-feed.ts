// Turns what this node sees revoked in its store into cluster bus events: it remembers what was revoked and, after
// each change (the API's own, or another process's through the database watch), publishes only what is new.
import type { Registry } from '../db/registry.js';
import type { OperatorStore } from '../db/operators.js';
import type { OutgoingBusEvent } from './events.js';

/** Most serials in one certificate.revoked event (the event schema's cap). */
const SERIALS_PER_EVENT = 32;

/** The bus events that tell the other nodes of these revocations (serials in events of at most 32). */
export function revocationEvents(r: {
  deviceIds?: readonly string[];
  serials?: readonly string[];
}): OutgoingBusEvent[] {
  const serials = r.serials ?? [];
  return [
    ...(r.deviceIds ?? []).map((deviceId): OutgoingBusEvent => ({ kind: 'device.revoked', deviceId })),
    ...Array.from(
      { length: Math.ceil(serials.length / SERIALS_PER_EVENT) },
      (_, i): OutgoingBusEvent => ({
        kind: 'certificate.revoked',
        serials: serials.slice(i * SERIALS_PER_EVENT, (i + 1) * SERIALS_PER_EVENT),
      }),
    ),
  ];
}

export function createRevocationFeed(deps: {
  registry: Registry;
  /**
   * The folder's operators, when they are the ones the API uses (a cluster on SQLite). On the shared store the
   * admin service tells of the operators it revokes there, and the folder's are no one's.
   */
  operators?: OperatorStore;
  publish: (event: OutgoingBusEvent) => void;
}): () => void {
  const revokedOperators = () =>
    new Set((deps.operators?.list() ?? []).filter((o) => o.status !== 'active').map((o) => o.name));
  let known = {
    devices: deps.registry.revokedDeviceIds(),
    serials: deps.registry.revokedSerials(),
    operators: revokedOperators(),
  };
  return () => {
    const now = {
      devices: deps.registry.revokedDeviceIds(),
      serials: deps.registry.revokedSerials(),
      operators: revokedOperators(),
    };
    const events = revocationEvents({
      deviceIds: [...now.devices].filter((x) => !known.devices.has(x)),
      serials: [...now.serials].filter((x) => !known.serials.has(x)),
    });
    for (const e of events) deps.publish(e);
    for (const name of now.operators) if (!known.operators.has(name)) deps.publish({ kind: 'operator.revoked', name });
    known = now;
  };
}
