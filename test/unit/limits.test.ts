import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFleetConfig, rateFor } from '../../broker/src/config.js';
import { FleetError } from '../../broker/src/errors.js';
import { createConnectionLimiter } from '../../broker/src/limits/connection-limiter.js';
import { createFrameGuard } from '../../broker/src/limits/frame-guard.js';
import { createPublishLimiter } from '../../broker/src/limits/publish-limiter.js';
import { TokenBucket } from '../../broker/src/limits/token-bucket.js';

test('token bucket: burst, refill, debt as a wait time', () => {
  const b = new TokenBucket(10, 5, 0);
  for (let i = 0; i < 5; i++) assert.is(b.take(1, 0), 0);
  assert.is(b.take(1, 0), 100, 'one token short at 10/s is 100 ms');
  assert.is(b.take(1, 0), 200);
  assert.is(b.take(1, 1000), 0, 'a second later the debt is paid');
  assert.not.ok(new TokenBucket(1, 1, 0).tryTake(2, 0));
});

test('publish limiter: pass, then delay, then disconnect past the threshold; inflight bound', () => {
  let t = 0;
  const l = createPublishLimiter({ maxInflight: 1000, now: () => t });
  const rate = {
    messagesPerSecond: 10,
    burstMessages: 10,
    bytesPerSecond: 1e9,
    burstBytes: 1e9,
    disconnectAfterSeconds: 2,
  };
  const seen: string[] = [];
  for (let i = 0; i < 40; i++) seen.push(l.admit('d', rate, 10).action);
  assert.equal(seen.slice(0, 10), Array(10).fill('pass'));
  assert.ok(seen.includes('delay'));
  assert.is(seen.at(-1), 'disconnect');
  const bytes = createPublishLimiter({ maxInflight: 1000, now: () => t });
  assert.is(bytes.admit('d', { ...rate, bytesPerSecond: 100, burstBytes: 100 }, 100).action, 'pass');
  assert.is(
    bytes.admit('d', { ...rate, bytesPerSecond: 100, burstBytes: 100 }, 100).action,
    'delay',
    'byte rate applies too',
  );
  const tight = createPublishLimiter({ maxInflight: 2, now: () => t });
  tight.admit('d', rate, 1);
  tight.admit('d', rate, 1);
  assert.equal(tight.admit('d', rate, 1), { action: 'disconnect', reason: 'inflight' });
  tight.release('d');
  assert.is(tight.admit('d', rate, 1).action, 'pass');
  t = 10_000;
});

test('connection limiter: per address burst, independent addresses, bounded table', () => {
  let t = 0;
  const l = createConnectionLimiter({ perMinute: 60, burst: 3, maxAddresses: 10, now: () => t });
  assert.equal([l.allow('a'), l.allow('a'), l.allow('a'), l.allow('a')], [true, true, true, false]);
  assert.ok(l.allow('b'));
  t += 1000;
  assert.ok(l.allow('a'), 'one per second refills');
  for (let i = 0; i < 100; i++) l.allow(`x${i}`);
  assert.ok(l.size <= 11);
});

test('frame guard: passes normal traffic across chunk boundaries, stops oversize and malformed lengths', () => {
  const g = createFrameGuard(1000);
  // remaining length 1000 → 1003 total
  const packet = Buffer.concat([Buffer.from([0x30, 0xe8, 0x07]), Buffer.alloc(1000)]);
  assert.equal(createFrameGuard(2000)(packet), { ok: true });
  const g2 = createFrameGuard(2000);
  const small = Buffer.concat([Buffer.from([0x30, 0x05]), Buffer.alloc(5)]);
  const stream = Buffer.concat([small, small, small]);
  for (let i = 0; i < stream.length; i++) assert.ok(g2(stream.subarray(i, i + 1)).ok, `byte ${i}`);
  assert.is(g(packet.subarray(0, 3)).ok, false);
  const huge = createFrameGuard(1000)(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
  assert.equal(huge.ok, false);
  assert.equal(createFrameGuard(1e12)(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), {
    ok: false,
    size: 268435455,
    reason: 'malformed-length',
  });
});

test('fleet config: defaults, per-type rates, every problem listed', () => {
  const c = parseFleetConfig({
    deviceTypes: {
      camera: {
        messagesPerSecond: 5,
        burstMessages: 10,
        bytesPerSecond: 1e6,
        burstBytes: 2e6,
        disconnectAfterSeconds: 3,
      },
    },
  });
  assert.is(rateFor(c, 'camera').messagesPerSecond, 5);
  assert.is(rateFor(c, 'unknown').messagesPerSecond, 50, 'unlisted types get default');
  assert.is(c.limits.maxPacketBytes, 300 * 1024);
  try {
    parseFleetConfig({
      limits: { maxPacketBytes: 'big', bogus: 1 },
      deviceTypes: { camera: { messagesPerSecond: -1 } },
    });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, FleetError);
    const paths = ((err as FleetError).details!.issues as { path: string }[]).map((i) => i.path).sort();
    assert.equal(paths, [
      'deviceTypes.camera.burstBytes',
      'deviceTypes.camera.burstMessages',
      'deviceTypes.camera.bytesPerSecond',
      'deviceTypes.camera.disconnectAfterSeconds',
      'deviceTypes.camera.messagesPerSecond',
      'limits.bogus',
      'limits.maxPacketBytes',
    ]);
  }
});

test.run();
