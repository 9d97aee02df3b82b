// Device messages end at ingest: aedes does not route a client's PUBLISH any further. The one place the server
// relies on how aedes works inside (docs/aedes.md); test/integration/aedes-reliances.test.ts fails if that changes.
import type { Aedes, Client, PublishPacket } from 'aedes';

type Done = (err?: Error) => void;

/**
 * Every publish from a connected client is a device message, and its one consumer is ingest, which took it in
 * authorizePublish (stored before the PUBACK). No client may subscribe to a channel devices publish on (acl.ts:
 * devices read only `cmd`, the backend subscribes in-process and does not), so routing those messages on
 * (retained store, offline queues, two topic-tree matches, the `publish` event) would only cost CPU: about 9% of
 * the broker's time under full load. aedes has no option to skip it. What the fleet publishes itself (commands,
 * $SYS) has no client and is routed as usual.
 *
 * Relies on aedes' protocol handlers (lib/handlers/publish.js: QoS 0 and 1; lib/client.js: the will) calling
 * `broker.publish(packet, client, done)` on the broker object, with the client as second argument; the typings
 * know only the public `(packet, done)` form.
 */
export function consumeClientPublishes(aedes: Aedes): void {
  const broker = aedes as unknown as {
    publish(packet: PublishPacket, client: Client | null | Done, done?: Done): void;
  };
  const route = broker.publish.bind(aedes);
  broker.publish = (packet, client, done) => {
    if (client !== null && typeof client === 'object') return done?.();
    return route(packet, client, done);
  };
}
