// The update client's download: mTLS + bearer token against a real HTTPS server, resumed with Range after cuts at
// random points (same bytes at the end), a 4xx stops at once, retries are bounded, oversize and http:// refused.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createDownloader } from '../../agent/src/update/download.js';
import { EdgewardError } from '../../shared/src/index.js';
import { startBundleServer, type BundleServer } from '../helpers/bundle-server.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { tmpDir } from '../helpers/tmp.js';

const TOKEN = 'A'.repeat(40);
let fleet: TestFleet;
let server: BundleServer;
let dir: string;
const data = randomBytes(300_000);

test.before(async () => {
  fleet = await createTestFleet(['gw-001']);
  server = await startBundleServer(fleet.dataDir, TOKEN);
  dir = tmpDir();
  writeFileSync(join(dir, 'bundle'), data);
  server.add('b', join(dir, 'bundle'));
});
test.after(async () => {
  await server.close();
  await fleet.close();
});

const tls = () => fleet.credentials('gw-001');
const fast = (o: Parameters<typeof createDownloader>[0] = {}) =>
  createDownloader({ baseDelayMs: 1, maxDelayMs: 5, ...o });
let n = 0;
const part = () => join(dir, `b-${++n}.part`);

test('a whole download lands byte for byte, with the device certificate and the token', async () => {
  const file = part();
  const seen: number[] = [];
  await fast()({
    url: server.url('b'),
    token: TOKEN,
    size: data.length,
    file,
    tls: tls(),
    onProgress: (d) => seen.push(d),
  });
  assert.ok(Buffer.compare(readFileSync(file), data) === 0);
  assert.is(seen.at(-1), data.length);
  assert.is(server.requests.at(-1)?.cn, 'gw-001');
});

test('cuts at random points resume with Range and finish with the same bytes', async () => {
  for (let round = 0; round < 4; round++) {
    const file = part();
    const cuts = Array.from({ length: 3 }, () => 1 + Math.floor(Math.random() * 90_000));
    server.cutAfter(...cuts);
    const before = server.requests.length;
    await fast()({ url: server.url('b'), token: TOKEN, size: data.length, file, tls: tls() });
    assert.ok(Buffer.compare(readFileSync(file), data) === 0, `cuts ${cuts}`);
    const reqs = server.requests.slice(before);
    assert.is(reqs.length, 4);
    assert.is(reqs[0]!.range, undefined);
    // A cut may lose what was still in flight, so each resume starts at most where the server stopped writing.
    let offset = 0;
    let last = 0;
    for (let i = 1; i < 4; i++) {
      offset += cuts[i - 1]!;
      const from = reqs[i]!.range === undefined ? 0 : Number(/^bytes=(\d+)-$/.exec(reqs[i]!.range!)?.[1]);
      assert.ok(from >= last && from <= offset, `resumed at ${from}, after ${last}, at most ${offset}`);
      assert.is(reqs[i]!.status, from === 0 ? 200 : 206);
      last = from;
      offset = from;
    }
  }
});

test('a .part file from an earlier run is resumed, not fetched again', async () => {
  const file = part();
  writeFileSync(file, data.subarray(0, 123_456));
  await fast()({ url: server.url('b'), token: TOKEN, size: data.length, file, tls: tls() });
  assert.is(server.requests.at(-1)?.range, 'bytes=123456-');
  assert.ok(Buffer.compare(readFileSync(file), data) === 0);
});

test('a 4xx (other than 408/429) stops at once: no retry', async () => {
  for (const status of [401, 403, 404]) {
    server.failWith(status);
    const before = server.requests.length;
    let retries = 0;
    const err = await fast({ onRetry: () => retries++ })({
      url: server.url('b'),
      token: TOKEN,
      size: data.length,
      file: part(),
      tls: tls(),
    }).catch((e: Error & { code?: string }) => e);
    assert.is((err as { code?: string }).code, 'UPDATE_DOWNLOAD_REFUSED');
    assert.is(server.requests.length - before, 1);
    assert.is(retries, 0);
  }
  const bad = await fast()({ url: server.url('b'), token: 'B'.repeat(40), size: data.length, file: part(), tls: tls() })
    .then(() => undefined)
    .catch((e: { code?: string }) => e.code);
  assert.is(bad, 'UPDATE_DOWNLOAD_REFUSED');
});

test('a 401 for a token since replaced is retried with the new one; an unchanged token is refused', async () => {
  // A fresh offer (after a reconnect) replaced the token while the old one was on its way: the 401 that follows is
  // retried with the newest, not counted as a failure. The new token arrives during the grace period here.
  let current = 'C'.repeat(40);
  setTimeout(() => (current = TOKEN), 200);
  const file = part();
  await fast({ attempts: 1 })({ url: server.url('b'), token: () => current, size: data.length, file, tls: tls() });
  assert.ok(Buffer.compare(readFileSync(file), data) === 0);
  // No newer token within the grace period: refused, as a plain 401 is.
  const before = server.requests.length;
  const code = await fast({ tokenGraceMs: 300 })({
    url: server.url('b'),
    token: () => 'D'.repeat(40),
    size: data.length,
    file: part(),
    tls: tls(),
  })
    .then(() => undefined)
    .catch((e: { code?: string }) => e.code);
  assert.is(code, 'UPDATE_DOWNLOAD_REFUSED');
  assert.is(server.requests.length - before, 1);
});

test('5xx, 408 and 429 are retried, a bounded number of times', async () => {
  server.failWith(503, 429, 408);
  const file = part();
  await fast()({ url: server.url('b'), token: TOKEN, size: data.length, file, tls: tls() });
  assert.ok(Buffer.compare(readFileSync(file), data) === 0);
  server.failWith(500, 500, 500, 500);
  const before = server.requests.length;
  const err = await fast({ attempts: 3 })({
    url: server.url('b'),
    token: TOKEN,
    size: data.length,
    file: part(),
    tls: tls(),
  })
    .then(() => undefined)
    .catch((e: { code?: string }) => e.code);
  assert.is(err, 'UPDATE_DOWNLOAD');
  assert.is(server.requests.length - before, 3);
  server.failWith(...[]); // the fourth 500 is still queued: use it up
  await fast()({ url: server.url('b'), token: TOKEN, size: data.length, file: part(), tls: tls() });
});

test('a body bigger than the offered size is refused; so is a URL that is not https', async () => {
  const err = await fast()({ url: server.url('b'), token: TOKEN, size: data.length - 10, file: part(), tls: tls() })
    .then(() => undefined)
    .catch((e: { code?: string }) => e.code);
  assert.is(err, 'UPDATE_DOWNLOAD_SIZE');
  const http = await fast()({ url: 'http://127.0.0.1/b', token: TOKEN, size: 1, file: part(), tls: tls() })
    .then(() => undefined)
    .catch((e: { code?: string }) => e.code);
  assert.is(http, 'UPDATE_URL');
});

test('onData gets every byte once, in order, across cuts and resumes; its refusal stops the download', async () => {
  const file = part();
  const got: Buffer[] = [];
  server.cutAfter(1 + Math.floor(Math.random() * 90_000), 1 + Math.floor(Math.random() * 90_000));
  await fast()({
    url: server.url('b'),
    token: TOKEN,
    size: data.length,
    file,
    tls: tls(),
    onData: async (c) => void got.push(Buffer.from(c)),
  });
  assert.ok(Buffer.compare(Buffer.concat(got), data) === 0, 'the stream the verifier reads is the file');
  assert.ok(Buffer.compare(readFileSync(file), data) === 0);

  const before = server.requests.length;
  const verdict = new EdgewardError('FW_UNKNOWN_KEY', 'signed by a key the trust document does not list');
  const err = await fast()({
    url: server.url('b'),
    token: TOKEN,
    size: data.length,
    file: part(),
    tls: tls(),
    onData: async () => {
      throw verdict;
    },
  }).catch((e: unknown) => e);
  assert.is(err, verdict, 'the verdict itself, not a download error');
  assert.is(server.requests.length - before, 1, 'no retry');
});

test.run();
