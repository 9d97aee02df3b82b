// The bridge between the download and the streaming verifier: chunks arrive in order, one at a time (push resolves
// only once the reader took its chunk), the end is seen, and a reader that stops refuses further pushes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createChunkFeed } from '../../agent/src/update/chunk-feed.js';

const bytes = (...v: number[]) => Uint8Array.from(v);

test('chunks in order, each push resolved once taken, then the end', async () => {
  const feed = createChunkFeed();
  const read: number[] = [];
  const reader = (async () => {
    for await (const c of feed.chunks) read.push(...c);
  })();
  let taken = 0;
  const pushes = [feed.push(bytes(1, 2)).then(() => taken++), feed.push(bytes(3)).then(() => taken++)];
  await pushes[0];
  await pushes[1];
  feed.end();
  await reader;
  assert.equal(read, [1, 2, 3]);
  assert.is(taken, 2);
});

test('a push resolves once the reader is done with its chunk (it asks for the next): it may be reused', async () => {
  const feed = createChunkFeed();
  let resolved = false;
  const p = feed.push(bytes(9)).then(() => (resolved = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.is(resolved, false, 'nobody read it yet');
  const it = feed.chunks[Symbol.asyncIterator]();
  const first = await it.next();
  assert.equal([...(first.value as Uint8Array)], [9]);
  await new Promise((r) => setTimeout(r, 20));
  assert.is(resolved, false, 'the reader still holds it');
  const second = it.next();
  await p;
  assert.is(resolved, true, 'asking for the next chunk releases it');
  feed.end();
  assert.is((await second).done, true);
});

test('a reader that stops with a verdict refuses the waiting and later pushes with it', async () => {
  const feed = createChunkFeed();
  const verdict = new Error('FW_SIG_INVALID');
  const waiting = feed.push(bytes(1)).catch((e: unknown) => e);
  feed.close(verdict);
  assert.is(await waiting, verdict);
  assert.is(await feed.push(bytes(2)).catch((e: unknown) => e), verdict);
  const it = feed.chunks[Symbol.asyncIterator]();
  assert.is((await it.next()).done, true, 'the reader sees the end');
});

test.run();
