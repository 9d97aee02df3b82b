// The operator API's read thread on a real SQLite file: it answers pages as the caller may see them, sees what the
// main thread committed after it started, keeps the codes of the errors it meets, and a thread that dies fails
// only the reads it had (503) and is started again by the next one.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ADMIN_READ_WORKER, startAdminReads, THREAD_READS } from '../../broker/src/admin/admin-read-thread.js';
import type { FleetAdmin } from '../../broker/src/admin/types.js';
import { ApiError } from '../../broker/src/api/errors.js';
import { openDb } from '../../broker/src/db/open.js';
import { createRegistry } from '../../broker/src/db/registry.js';
import { EdgewardError } from '../../shared/src/index.js';
import { tmpDir } from '../helpers/tmp.js';

const file = join(tmpDir('edgeward-reads-'), 'fleet.db');
const db = openDb(file);
const registry = createRegistry(db);
const add = (id: string) => {
  const serial = Buffer.from(id).toString('hex');
  registry.addDevice(id, 'default', { serial, fingerprint256: serial, notBefore: 0, notAfter: Date.now() + 1e9 });
};
for (const id of ['gw-001', 'gw-002', 'gw-003']) add(id);

const everyone = { actor: 'operator:alice', devices: null };
const ids = (page: unknown) => (page as { items: { id: string }[] }).items.map((d) => d.id);

test('pages as the caller may see them, and rows committed after the thread started', async () => {
  const reads = startAdminReads({ file });
  try {
    const first = (await reads.read(everyone, 'devices.list', { limit: 2 })) as { next: string | null };
    assert.equal(ids(first), ['gw-001', 'gw-002']);
    assert.is(first.next, 'gw-002');
    assert.equal(ids(await reads.read({ ...everyone, devices: ['gw-003'] }, 'devices.list', {})), ['gw-003']);
    add('gw-004');
    assert.equal(ids(await reads.read(everyone, 'devices.list', { cursor: 'gw-003' })), ['gw-004']);
  } finally {
    await reads.close();
  }
});

test('an error keeps its code and message across the thread', async () => {
  const reads = startAdminReads({ file });
  try {
    const err = await reads.read(everyone, 'telemetry', 'gw-999', {}).catch((e: unknown) => e);
    assert.instance(err, EdgewardError);
    assert.is((err as EdgewardError).code, 'FLEET_DEVICE_UNKNOWN');
    assert.match((err as Error).message, /gw-999/);
    // A device outside the caller's limits is as unknown as one that does not exist.
    const hidden = await reads
      .read({ ...everyone, devices: ['gw-001'] }, 'telemetry', 'gw-002', {})
      .catch((e: unknown) => e);
    assert.is((hidden as EdgewardError).code, 'FLEET_DEVICE_UNKNOWN');
  } finally {
    await reads.close();
  }
});

test('admin() sends every read the thread answers to the thread, none to the event loop', async () => {
  const reads = startAdminReads({ file });
  // The event loop's admin: any call that reaches it is one the thread should have answered.
  const local = new Proxy({} as Record<string, unknown>, {
    get: (_, group) =>
      new Proxy(() => Promise.reject(new Error(`local ${String(group)}`)), {
        get: (_f, method) => () => Promise.reject(new Error(`local ${String(group)}.${String(method)}`)),
      }),
  }) as unknown as FleetAdmin;
  try {
    const admin = reads.admin(everyone, local) as unknown as Record<string, unknown>;
    for (const name of THREAD_READS) {
      const [group, method] = name.split('.') as [string, string | undefined];
      const owner = method ? (admin[group] as Record<string, unknown>) : admin;
      const call = owner[method ?? group] as (...args: unknown[]) => Promise<unknown>;
      // Whatever the thread answers (a page, or FLEET_* for an unknown id), it is not the local admin's refusal.
      const outcome = await call
        .call(owner, ...(name === 'telemetry' || name === 'commands.acks' ? ['gw-001', {}] : [{}]))
        .catch((e: Error) => e);
      assert.not.match(String((outcome as Error)?.message ?? ''), /^local /, name);
    }
  } finally {
    await reads.close();
  }
});

test('a thread that dies fails its reads with 503 and the next read starts a new one', async () => {
  let starts = 0;
  const reads = startAdminReads({
    file,
    startThread: (init) =>
      ++starts === 1
        ? new Worker('setTimeout(() => process.exit(3), 50)', { eval: true })
        : ADMIN_READ_WORKER.start(init),
  });
  try {
    const err = await reads.read(everyone, 'devices.list', {}).catch((e: unknown) => e);
    assert.instance(err, ApiError);
    assert.is((err as ApiError).status, 503);
    assert.is((err as ApiError).code, 'API_UNAVAILABLE');
    assert.match((err as Error).message, /exited with code 3/);
    assert.ok(ids(await reads.read(everyone, 'devices.list', {})).includes('gw-001'));
    assert.is(starts, 2);
  } finally {
    await reads.close();
  }
  const after = await reads.read(everyone, 'devices.list', {}).catch((e: unknown) => e);
  assert.is((after as ApiError).status, 503, 'a closed reader refuses');
});

test.after(() => {
  db.close();
});
test.run();
