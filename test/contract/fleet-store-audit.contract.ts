// The fleet audit's reads and runs and the cluster nodes' connection history, run against every implementation of
// the fleet store (SQLite, PostgreSQL): each check's rows from the same records, runs read back in their order, and
// many sessions opened and closed at once (batched on PostgreSQL) closed by their (node, device, stamp), a node's
// rows closed together.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuditFinding } from '../../broker/src/fleet/audit-checks.js';
import type { ConnectionChange } from '../../broker/src/store/index.js';
import { cert, exposure, type StoreUnderTest } from './fleet-store.contract.js';

const T0 = 1_767_000_000_000;
const DAY = 86_400_000;

const opened = (node: string, deviceId: string, connectedAt: number, address: string | null = '10.0.0.1') =>
  ({ kind: 'opened', node, deviceId, serial: `s-${deviceId}`, address, connectedAt }) as const;
const closed = (node: string, deviceId: string, connectedAt: number, at = connectedAt + 1) =>
  ({ kind: 'closed', node, deviceId, connectedAt, at }) as const;

const finding = (check: string, deviceId: string | null, severity: AuditFinding['severity']): AuditFinding => ({
  check,
  severity,
  deviceId,
  title: `${check} title`,
  detail: `${check} of ${deviceId ?? 'the fleet'}`,
  remediation: `fix ${deviceId ?? 'it'}`,
});

export function fleetAuditContract(name: string, make: () => Promise<StoreUnderTest>): void {
  const t = suite(`fleet store audit and connection history: ${name}`);
  let open: StoreUnderTest[] = [];
  const fresh = async (...devices: string[]) => {
    const u = await make();
    open.push(u);
    for (const d of devices) await u.store.registry.addDevice(d, 'gateway', cert(`s-${d}`), T0);
    return u;
  };
  t.after.each(async () => {
    for (const u of open) await u.store.close();
    open = [];
  });
  /** All the changes made at once, without waiting in between: on PostgreSQL they go in a few batched statements. */
  const atOnce = (u: StoreUnderTest, changes: readonly ConnectionChange[]) =>
    Promise.all(changes.map((c) => u.store.connections.record(c)));

  t('connection history: many sessions opened and closed at once, closed by (node, device, stamp)', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `gw-${String(i).padStart(2, '0')}`);
    const u = await fresh(...ids);
    const nodeOf = (i: number) => (i % 2 === 0 ? 'node-a' : 'node-b');
    await atOnce(
      u,
      ids.map((d, i) => opened(nodeOf(i), d, T0 + i)),
    );
    // One wave: a third closed; a device closed and opened again at the same stamp (its old row is closed, the new
    // one open); a device opened and closed within the wave; a takeover within one node (two rows open, stamps apart).
    await atOnce(u, [
      ...ids.filter((_, i) => i % 3 === 0).map((d) => closed(nodeOf(ids.indexOf(d)), d, T0 + ids.indexOf(d))),
      closed('node-b', 'gw-01', T0 + 1),
      opened('node-b', 'gw-01', T0 + 1, '10.0.0.2'),
      opened('node-a', 'gw-02', T0 + 500),
      closed('node-a', 'gw-02', T0 + 500),
      opened('node-a', 'gw-04', T0 + 600, '10.0.0.9'),
    ]);
    assert.equal((await u.store.connections.openNodes()).sort(), ['node-a', 'node-b']);
    // Open now: 40 of the first 60 rows (gw-01's first row closed, its second open), gw-04's second row.
    const openA = ids.filter((_, i) => i % 3 !== 0 && nodeOf(i) === 'node-a').length + 1;
    const openB = ids.filter((_, i) => i % 3 !== 0 && nodeOf(i) === 'node-b').length;
    assert.is(await u.store.connections.closeNodes(['node-a'], T0 + DAY), openA);
    assert.equal(await u.store.connections.openNodes(), ['node-b']);
    // Closing again finds nothing; a close of a row already closed changes nothing.
    assert.is(await u.store.connections.closeNodes(['node-a'], T0 + DAY), 0);
    await u.store.connections.record(closed('node-a', 'gw-04', T0 + 600));
    assert.is(await u.store.connections.closeNodes(['node-b', 'node-c'], T0 + DAY), openB);
    assert.equal(await u.store.connections.openNodes(), []);
  });

  t('connection history: rows of no node (copied from a single server) are closed with any node', async () => {
    const u = await fresh('gw-a');
    await u.exec(
      `INSERT INTO connections (device_id, serial, address, connected_at) VALUES ('gw-a', 's-gw-a', '10.0.0.1', ${T0})`,
    );
    assert.equal(await u.store.connections.openNodes(), []);
    await u.store.connections.record(opened('node-a', 'gw-a', T0 + 5));
    assert.is(await u.store.connections.closeNodes(['node-z'], T0 + 10), 1);
    assert.equal(await u.store.connections.openNodes(), ['node-a']);
  });

  t('audit reads: revoked devices still connected, by the history and by the online flag', async () => {
    const u = await fresh('gw-r1', 'gw-r2', 'gw-r3', 'gw-r4', 'gw-ok');
    const { registry, connections, fleetAudit } = u.store;
    await connections.record(opened('node-a', 'gw-r1', T0 + 10, '10.0.0.1'));
    await connections.record(opened('node-b', 'gw-r1', T0 + 11, '10.0.0.2'));
    await connections.record(opened('node-a', 'gw-r3', T0 + 10));
    await connections.record(closed('node-a', 'gw-r3', T0 + 10));
    await connections.record(opened('node-a', 'gw-r4', T0 - DAY));
    await connections.record(opened('node-b', 'gw-ok', T0 + 10));
    await registry.setOnline('gw-r2', true, '10.0.0.7', T0 + 20, 'node-b');
    await registry.setOnline('gw-r1', true, '10.0.0.2', T0 + 20, 'node-b');
    assert.equal(await fleetAudit.revokedConnected(), []);
    for (const d of ['gw-r1', 'gw-r2', 'gw-r3', 'gw-r4']) await registry.revoke(d, T0);
    // gw-r3's session is closed; gw-r4's opened long before the revocation; gw-ok is not revoked. The same address
    // from a session and the flag is one row.
    assert.equal(await fleetAudit.revokedConnected(), [
      { deviceId: 'gw-r1', address: '10.0.0.1' },
      { deviceId: 'gw-r1', address: '10.0.0.2' },
      { deviceId: 'gw-r2', address: '10.0.0.7' },
    ]);
  });

  t('audit reads: one certificate from two addresses at once, across nodes', async () => {
    const u = await fresh('gw-c', 'gw-d', 'gw-e', 'gw-f');
    const { connections, fleetAudit } = u.store;
    const now = T0 + DAY;
    // gw-c: open on node-a, then from another address on node-b while the first is open.
    await connections.record(opened('node-a', 'gw-c', now - 100, '10.0.0.1'));
    await connections.record(opened('node-b', 'gw-c', now - 50, '10.0.0.2'));
    // gw-d: the first closed before the second opened; gw-e: twice from one address; gw-f: overlap a day ago.
    await connections.record(opened('node-a', 'gw-d', now - 100, '10.0.0.1'));
    await connections.record(closed('node-a', 'gw-d', now - 100, now - 90));
    await connections.record(opened('node-b', 'gw-d', now - 50, '10.0.0.2'));
    await connections.record(opened('node-a', 'gw-e', now - 100, '10.0.0.1'));
    await connections.record(opened('node-b', 'gw-e', now - 50, '10.0.0.1'));
    await connections.record(opened('node-a', 'gw-f', now - DAY - 100, '10.0.0.1'));
    await connections.record(opened('node-b', 'gw-f', now - DAY - 50, '10.0.0.2'));
    assert.equal(await fleetAudit.sharedCertificates(now - DAY, now), [
      { deviceId: 'gw-c', serial: 's-gw-c', first: '10.0.0.1', second: '10.0.0.2', at: now - 50 },
    ]);
  });

  t('audit reads: expiring certificates, takeovers, devices not seen, low exposure scores', async () => {
    const u = await fresh('gw-a', 'gw-b', 'gw-c', 'gw-d');
    const { registry, fleetAudit, audit, ingest } = u.store;
    await registry.addDevice('gw-soon', 'gateway', cert('s-soon', T0 + 5 * DAY), T0);
    await registry.addDevice('gw-gone', 'gateway', cert('s-gone', T0 - DAY), T0);
    await registry.addDevice('gw-renewed', 'gateway', cert('s-old', T0 + DAY), T0);
    await registry.addCertificate('gw-renewed', cert('s-new', T0 + 300 * DAY), T0);
    await registry.addDevice('gw-revoked', 'gateway', cert('s-rev', T0 + DAY), T0);
    await registry.revoke('gw-revoked', T0);
    assert.equal(await fleetAudit.expiringCertificates(T0 + 30 * DAY), [
      { deviceId: 'gw-gone', notAfter: T0 - DAY },
      { deviceId: 'gw-soon', notAfter: T0 + 5 * DAY },
    ]);

    for (const at of [T0 + 1, T0 + 2, T0 + 3]) await audit.record({ event: 'session.takeover', deviceId: 'gw-a' }, at);
    await audit.record({ event: 'session.takeover', deviceId: 'gw-b' }, T0 + 4);
    await audit.record({ event: 'session.takeover', deviceId: 'gw-b' }, T0 - DAY);
    await audit.record({ event: 'auth.denied', deviceId: 'gw-c' }, T0 + 5);
    assert.equal(await fleetAudit.takeovers(T0), [
      { deviceId: 'gw-a', count: 3, last: T0 + 3 },
      { deviceId: 'gw-b', count: 1, last: T0 + 4 },
    ]);

    // gw-a seen and gone, gw-b online now, gw-c seen recently; the others were registered at T0 and never seen.
    await registry.setOnline('gw-a', true, '10.0.0.1', T0 + 10, 'node-a');
    await registry.setOnline('gw-a', false, null, T0 + 20, 'node-a');
    await registry.setOnline('gw-b', true, '10.0.0.2', T0 + 10, 'node-a');
    await registry.setOnline('gw-c', true, '10.0.0.3', T0 + 10 * DAY, 'node-a');
    await registry.setOnline('gw-c', false, null, T0 + 10 * DAY, 'node-a');
    assert.equal(await fleetAudit.unseenSince(T0 + DAY), [
      { deviceId: 'gw-a', lastSeen: T0 + 20, createdAt: T0 },
      { deviceId: 'gw-d', lastSeen: null, createdAt: T0 },
      { deviceId: 'gw-gone', lastSeen: null, createdAt: T0 },
      { deviceId: 'gw-renewed', lastSeen: null, createdAt: T0 },
      { deviceId: 'gw-soon', lastSeen: null, createdAt: T0 },
    ]);

    // Each device's latest report counts: gw-a improved, gw-b got worse.
    await ingest.writeBatch(
      [
        exposure('gw-a', 'ex-a1', 30, T0 + 1),
        exposure('gw-a', 'ex-a2', 95, T0 + 2),
        exposure('gw-b', 'ex-b1', 95, T0 + 1),
        exposure('gw-b', 'ex-b2', 50, T0 + 2),
        exposure('gw-c', 'ex-c1', 35, T0 + 3),
      ],
      T0 + 5,
    );
    assert.equal(await fleetAudit.lowExposure(70), [
      { deviceId: 'gw-c', score: 35, grade: 'C', receivedAt: T0 + 3 },
      { deviceId: 'gw-b', score: 50, grade: 'C', receivedAt: T0 + 2 },
    ]);
  });

  t('audit runs: the latest run with its findings in their order', async () => {
    const u = await fresh();
    const { fleetAudit } = u.store;
    assert.is(await fleetAudit.latestRun(), undefined);
    const first = [finding('ca-expiring', null, 'high')];
    // Not in any sorted order, and a text no statement could hold as SQL.
    const second = [
      finding('revoked-connected', 'gw-z', 'critical'),
      finding('device-never-seen', "gw-a'); DROP TABLE audit_runs; --", 'low'),
      finding('cert-expiring', 'gw-b', 'medium'),
    ];
    await fleetAudit.saveRun(first, T0);
    await fleetAudit.saveRun(second, T0 + 1000);
    assert.equal(await fleetAudit.latestRun(), { at: new Date(T0 + 1000).toISOString(), findings: second });
    await fleetAudit.saveRun([], T0 + 2000);
    assert.equal(await fleetAudit.latestRun(), { at: new Date(T0 + 2000).toISOString(), findings: [] });
  });

  t.run();
}
