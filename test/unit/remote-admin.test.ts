// The operator API's client side of the lists: a server whose cursor does not move on is refused with a coded
// error, so `fleet device list --server`, `fleet telemetry --server` and the simulator's view end instead of asking
// for the same page for ever.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiClient } from '../../broker/src/admin/api-client.js';
import { createRemoteAdmin } from '../../broker/src/admin/remote.js';
import { EdgewardError } from '../../shared/src/index.js';

/** A client whose server answers every list with one item and the cursor 'c1', whatever is asked. */
function stuckServer(): { client: ApiClient; asked: string[] } {
  const asked: string[] = [];
  const client = {
    call: async (_method: string, path: string) => {
      asked.push(path);
      return { items: [{ id: 'gw-001' }], next: 'c1' };
    },
    close: () => undefined,
  } as unknown as ApiClient;
  return { client, asked };
}

test('a page whose cursor is the one asked with: API_SERVER_ERROR, for every list', async () => {
  const { client, asked } = stuckServer();
  const admin = createRemoteAdmin(client);
  const first = await admin.devices.list({});
  assert.is(first.next, 'c1', 'the first page is fine');
  const lists: [string, () => Promise<unknown>][] = [
    ['devices', () => admin.devices.list({ cursor: 'c1' })],
    ['telemetry', () => admin.telemetry('gw-001', { cursor: 'c1' })],
    ['fleet telemetry', () => admin.fleetTelemetry({ cursor: 'c1' })],
    ['reports', () => admin.reports.received({ cursor: 'c1' })],
    ['commands', () => admin.commands.list({ cursor: 'c1' })],
    ['acks', () => admin.commands.acks('cmd-1', { cursor: 'c1' })],
    ['events', () => admin.events({ cursor: 'c1' })],
    ['audit', () => admin.auditTrail({ cursor: 'c1' })],
  ];
  for (const [name, call] of lists) {
    const err = await call().catch((e: unknown) => e);
    assert.instance(err, EdgewardError, name);
    assert.is((err as EdgewardError).code, 'API_SERVER_ERROR', name);
    assert.match((err as Error).message, /with the cursor it was asked for \(c1\)/, name);
  }
  assert.is(asked.length, 1 + lists.length, 'one request each, no retries');
});

test.run();
