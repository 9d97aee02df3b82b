import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { createMemoryOutbox, openSqliteOutbox } from '../../agent/src/index.js';
import { outboxContract } from '../contract/outbox.contract.js';
import { tmpDir } from '../helpers/tmp.js';

outboxContract('memory', (opts) => createMemoryOutbox(opts));
outboxContract('sqlite', (opts) => openSqliteOutbox(tmpDir(), opts));

test('sqlite outbox survives a reopen with its stream, counters and samples', () => {
  const dir = join(tmpDir(), 'state');
  const a = openSqliteOutbox(dir, { maxSamples: 5 });
  for (let i = 0; i < 8; i++) a.addSample(i, { i });
  a.ackSamples(4, 5);
  const before = a.stats();
  a.close();
  const b = openSqliteOutbox(dir, { maxSamples: 5 });
  assert.equal(b.stats(), before);
  assert.is(b.addSample(9, {}), 9);
  assert.is((statSync(dir).mode & 0o777).toString(8), '700');
  assert.is((statSync(join(dir, 'agent.db')).mode & 0o777).toString(8), '600');
  b.close();
});

test.run();
