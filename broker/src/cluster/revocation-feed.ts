// Turns what this node sees revoked in its store into cluster bus events: it remembers what was revoked and, after
// each change (the API's own, or another process's through the database watch), publishes only what is new.
import type { Registry } from '../db/registry.js';
import type { OperatorStore } from '../db/operators.js';
import type { OutgoingBusEvent } from './events.js';

/** Most serials in one certificate.revoked event (the event schema's cap). */
const SERIALS_PER_EVENT = 32;

export function createRevocationFeed(deps: {
  registry: Registry;
  operators: OperatorStore;
  publish: (event: OutgoingBusEvent) => void;
}): () => void {
  const revokedOperators = () =>
    new Set(
      deps.operators
        .list()
        .filter((o) => o.status !== 'active')
        .map((o) => o.name),
    );
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
    for (const deviceId of now.devices)
      if (!known.devices.has(deviceId)) deps.publish({ kind: 'device.revoked', deviceId });
    const serials = [...now.serials].filter((x) => !known.serials.has(x));
    for (let i = 0; i < serials.length; i += SERIALS_PER_EVENT)
      deps.publish({ kind: 'certificate.revoked', serials: serials.slice(i, i + SERIALS_PER_EVENT) });
    for (const name of now.operators) if (!known.operators.has(name)) deps.publish({ kind: 'operator.revoked', name });
    known = now;
  };
}
