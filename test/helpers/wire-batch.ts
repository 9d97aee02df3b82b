// Batches of device messages as they cross to the ingest thread (WireBatch), for tests of the store and the writer.
import type { WireBatch } from '../../broker/src/fleet/ingest-thread.js';
import { CHANNELS, type Channel } from '../../shared/src/index.js';

/** One batch: the payloads back to back, the rest in typed arrays, as ingest builds it. */
export function wireBatch(messages: readonly (readonly [deviceId: string, channel: Channel, payload: Uint8Array])[]) {
  const ends: number[] = [];
  let used = 0;
  for (const [, , p] of messages) ends.push((used += p.length));
  const bytes = new Uint8Array(used);
  for (const [i, [, , p]] of messages.entries()) bytes.set(p, i === 0 ? 0 : ends[i - 1]!);
  return {
    deviceIds: messages.map(([d]) => d),
    channels: Uint8Array.from(messages, ([, c]) => CHANNELS.indexOf(c)),
    receivedAt: Float64Array.from(messages, () => Date.now()),
    ends: Uint32Array.from(ends),
    bytes,
  } satisfies WireBatch;
}
