// The scan's bounds: never more probe connections open than --concurrency, and a report on time when the total
// budget runs out (marked timedOut), however slow the services are.
import { createServer, type AddressInfo, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultEnv, runScan } from '../../agent/src/scan/index.js';
import type { ConnectOptions } from '../../agent/src/scan/env.js';
import { createLimiter, mapLimit } from '../../agent/src/scan/limit.js';

const servers: Server[] = [];

async function silentServers(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const server = createServer((s) => {
      s.on('error', () => undefined);
      s.resume();
    });
    servers.push(server);
    ports.push(
      await new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
      ),
    );
  }
  return ports;
}

test.after(() => {
  for (const s of servers) s.close();
});

test('limiter and mapLimit keep order and bound parallelism', async () => {
  const limiter = createLimiter(2);
  let active = 0;
  let most = 0;
  const out = await mapLimit([5, 1, 4, 2, 3], 5, async (ms, i) => {
    const release = await limiter.acquire();
    active++;
    most = Math.max(most, active);
    await new Promise((r) => setTimeout(r, ms * 5));
    active--;
    release();
    release(); // twice is harmless
    return i;
  });
  assert.equal(out, [0, 1, 2, 3, 4]);
  assert.is(most, 2);
  assert.is(limiter.active, 0);
});

test('never more open probe connections than the concurrency limit', async () => {
  const ports = await silentServers(4);
  // Count sockets as the scanner sees them: from connect until it destroys them.
  let mine = 0;
  let most = 0;
  const connect = async (o: ConnectOptions) => {
    const s = await defaultEnv.connect(o);
    mine++;
    most = Math.max(most, mine);
    const destroy = s.destroy.bind(s);
    let counted = true;
    s.destroy = (err?: Error) => {
      if (counted) mine--;
      counted = false;
      return destroy(err);
    };
    return s;
  };
  const report = await runScan({
    ports: ports.join(','),
    concurrency: 3,
    probeTimeoutMs: 150,
    bannerWaitMs: 30,
    deviceId: 'budget-test',
    env: { connect },
  });
  const peak = most;
  assert.is(report.services.length, 4);
  assert.ok(peak <= 3, `peak ${peak} open connections`);
  assert.ok(peak >= 2, 'probes did run in parallel');
});

test('the total budget ends the scan on time and the report says so', async () => {
  const ports = await silentServers(3);
  const t0 = performance.now();
  const report = await runScan({
    ports: ports.join(','),
    timeoutMs: 500,
    probeTimeoutMs: 2000,
    bannerWaitMs: 2000,
    deviceId: 'budget-test',
  });
  const elapsed = performance.now() - t0;
  assert.ok(report.scan.timedOut);
  assert.ok(elapsed < 2000, `returned after ${elapsed.toFixed(0)} ms`);
});

test.run();
