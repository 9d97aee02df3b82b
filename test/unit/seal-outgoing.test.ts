// What the backend seals on the way out (fleet/seal-outgoing.ts): commands and offers for the key the source names,
// in the order they were handed in even when the source (the cluster's store) answers out of order; other topics
// and devices without a key as they are.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createOutgoingSealer } from '../../broker/src/fleet/seal-outgoing.js';
import type { DeviceSealKey } from '../../broker/src/fleet/seal-keys.js';
import {
  deviceTopic,
  generateSealKeyPair,
  openEnvelope,
  parseEnvelope,
  sealChannel,
  sealKeyId,
} from '../../shared/src/index.js';

const backend = generateSealKeyPair();
const device = generateSealKeyPair();
const deviceKey: DeviceSealKey = { kid: sealKeyId(device.publicKey), publicKey: device.publicKey };
const fromBackend = sealChannel(device, backend.publicKey);
const open = (topic: string, payload: Buffer) => Buffer.from(openEnvelope(fromBackend, parseEnvelope(payload), topic));

test('a device commands come out sealed in the order they went in, though lookups answer in reverse', async () => {
  const delays = [40, 20, 0];
  let n = 0;
  const sealer = createOutgoingSealer(
    {
      current: (id) =>
        new Promise<DeviceSealKey | undefined>((resolve) =>
          setTimeout(() => resolve(id === 'gw-1' ? deviceKey : undefined), delays[n++ % delays.length]),
        ),
    },
    backend,
  );
  const topic = deviceTopic('gw-1', 'cmd');
  const out: string[] = [];
  await Promise.all(
    ['first', 'second', 'third'].map((text) =>
      sealer(topic, Buffer.from(text)).then((sealed) => out.push(open(topic, sealed).toString())),
    ),
  );
  assert.equal(out, ['first', 'second', 'third']);
});

test('a failed lookup fails its message only; other topics and keyless devices are left as they are', async () => {
  let fail = true;
  const sealer = createOutgoingSealer(
    {
      current: async (id) => {
        if (fail) {
          fail = false;
          throw new Error('store unreachable');
        }
        return id === 'gw-1' ? deviceKey : undefined;
      },
    },
    backend,
  );
  const topic = deviceTopic('gw-1', 'update');
  const first = sealer(topic, Buffer.from('offer-1'));
  const second = sealer(topic, Buffer.from('offer-2'));
  await first.then(
    () => assert.unreachable('the lookup failed'),
    (err: Error) => assert.match(err.message, 'unreachable'),
  );
  assert.is(open(topic, await second).toString(), 'offer-2');
  const telemetry = deviceTopic('gw-1', 'telemetry');
  assert.is((await sealer(telemetry, Buffer.from('as is'))).toString(), 'as is');
  assert.is((await sealer(deviceTopic('gw-2', 'cmd'), Buffer.from('no key'))).toString(), 'no key');
});

test.run();
