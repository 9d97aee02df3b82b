// The device download listener over real mutual TLS: a device with its certificate and its rollout's token gets
// the exact bundle bytes, whole or from any byte range; another device's token, a release it was not offered, an
// expired or missing token, a revoked device, an unknown release and a finished update are refused with the status
// and a security event (never the token); a client without a certificate does not get past the handshake.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRegistry } from '../../broker/src/db/registry.js';
import { createReleasePublisher } from '../../broker/src/fleet/release-publisher.js';
import { createSqliteStore } from '../../broker/src/store/index.js';
import { downloadTokenHash } from '../../broker/src/http/downloads.js';
import { createFirmwareKit } from '../helpers/firmware.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
let offered: { id: string; bytes: Uint8Array };
let other: { id: string; bytes: Uint8Array };
const tokens = new Map<string, string>();

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** One request to the download port as `device` (no certificate when null). */
function download(
  device: string | null,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Answer> {
  const creds = device ? fleet.credentials(device) : { ca: fleet.credentials('gw-a').ca };
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: fleet.server.downloadPort,
        path,
        method,
        headers,
        ca: creds.ca,
        ...('key' in creds ? { key: creds.key, cert: creds.cert } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const bundleUrl = (id: string) => `/v1/releases/${id}/bundle`;
const bearer = (device: string) => ({ authorization: `Bearer ${tokens.get(device)}` });

/** A rollout of `releaseId` with a row for each device (token issued as the rollout engine would). */
function authorise(releaseId: string, devices: string[], opts: { expires?: number; state?: string } = {}): void {
  const now = Date.now();
  const rollout = fleet.db
    .prepare(
      `INSERT INTO rollouts (release_id, selector, stages, success_threshold, error_threshold, min_wait_ms, state,
         stage_started_at, created_at, updated_at) VALUES (?, '{}', '[100]', 0.9, 0.1, 0, 'running', ?, ?, ?)`,
    )
    .run(releaseId, now, now, now).lastInsertRowid;
  for (const [i, device] of devices.entries()) {
    const token = randomBytes(24).toString('base64url');
    tokens.set(`${device}@${releaseId}`, token);
    if (!tokens.has(device)) tokens.set(device, token);
    fleet.db
      .prepare(
        `INSERT INTO rollout_devices (rollout_id, device_id, position, state, token_hash, token_expires, offered_at,
           updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        rollout,
        device,
        i,
        opts.state ?? 'Offered',
        downloadTokenHash(token),
        opts.expires ?? now + 3600_000,
        now,
        now,
      );
  }
}

const eventsOf = (reason: string) =>
  fleet.db.prepare(`SELECT * FROM audit WHERE event = 'download.denied' AND detail LIKE ?`).all(`%"${reason}"%`) as {
    device_id: string | null;
    detail: string;
  }[];

test.before(async () => {
  fleet = await createTestFleet(['gw-a', 'gw-b', 'gw-late', 'gw-gone', 'gw-done']);
  await fleet.start();
  const kit = createFirmwareKit(tmpDir('edgeward-downloads-'));
  const dir = join(fleet.dataDir, 'releases');
  const { releases } = createSqliteStore(fleet.db, { releasesDir: dir });
  const store = createReleasePublisher({ releases, dir, maxBundleBytes: 1 << 30 });
  await releases.installTrust(kit.trust, 'test');
  const a = kit.bundle({ version: '1.0.0', sequence: 1 }, 300_000);
  const b = kit.bundle({ version: '1.0.1', sequence: 2 }, 5000);
  await store.publish(createReadStream(a.path), 'test');
  await store.publish(createReadStream(b.path), 'test');
  offered = { id: a.id, bytes: a.bytes };
  other = { id: b.id, bytes: b.bytes };
  authorise(offered.id, ['gw-a', 'gw-b', 'gw-gone']);
  authorise(offered.id, ['gw-late'], { expires: Date.now() - 1000 });
  authorise(offered.id, ['gw-done'], { state: 'Committed' });
});

test.after(async () => {
  await fleet.close();
});

test('the device with its token gets the exact bundle; HEAD gives its size; downloadUrl points here', async () => {
  const a = await download('gw-a', bundleUrl(offered.id), bearer('gw-a'));
  assert.is(a.status, 200);
  assert.ok(a.body.equals(Buffer.from(offered.bytes)), 'the bytes differ');
  assert.is(a.headers.etag, `"${offered.id}"`);
  assert.is(a.headers['accept-ranges'], 'bytes');
  const head = await download('gw-a', bundleUrl(offered.id), bearer('gw-a'), 'HEAD');
  assert.is(head.status, 200);
  assert.is(Number(head.headers['content-length']), offered.bytes.length);
  assert.is(head.body.length, 0);
  assert.is(
    fleet.server.downloadUrl(offered.id),
    `https://127.0.0.1:${fleet.server.downloadPort}/v1/releases/${offered.id}/bundle`,
  );
  const metrics = fleet.server.metrics.registry.render();
  assert.match(metrics, /edgeward_download_bytes_total \d+/);
});

test('ranges: bytes=N- and bytes=N-M give exactly those bytes (206), past the end is 416', async () => {
  const all = Buffer.from(offered.bytes);
  const size = all.length;
  const cuts = [0, 1, 4095, 65_536, size - 1, ...Array.from({ length: 5 }, () => Math.floor(Math.random() * size))];
  for (const n of cuts) {
    const r = await download('gw-a', bundleUrl(offered.id), { ...bearer('gw-a'), range: `bytes=${n}-` });
    assert.is(r.status, 206, `bytes=${n}-`);
    assert.is(r.headers['content-range'], `bytes ${n}-${size - 1}/${size}`);
    assert.ok(r.body.equals(all.subarray(n)), `bytes=${n}- differ`);
    const m = Math.min(size - 1, n + Math.floor(Math.random() * 10_000));
    const part = await download('gw-a', bundleUrl(offered.id), { ...bearer('gw-a'), range: `bytes=${n}-${m}` });
    assert.is(part.status, 206);
    assert.ok(part.body.equals(all.subarray(n, m + 1)), `bytes=${n}-${m} differ`);
  }
  const past = await download('gw-a', bundleUrl(offered.id), { ...bearer('gw-a'), range: `bytes=${size}-` });
  assert.is(past.status, 416);
  assert.is(past.headers['content-range'], `bytes */${size}`);
  // If-Range with another validator: the whole file, not the range.
  const stale = await download('gw-a', bundleUrl(offered.id), {
    ...bearer('gw-a'),
    range: 'bytes=10-',
    'if-range': '"something-else"',
  });
  assert.is(stale.status, 200);
  assert.is(stale.body.length, size);
  const fresh = await download('gw-a', bundleUrl(offered.id), {
    ...bearer('gw-a'),
    range: 'bytes=10-',
    'if-range': `"${offered.id}"`,
  });
  assert.is(fresh.status, 206);
});

test("another device's token is 403; a release the device was not offered is 403", async () => {
  const stolen = await download('gw-b', bundleUrl(offered.id), bearer('gw-a'));
  assert.is(stolen.status, 403);
  assert.is(JSON.parse(stolen.body.toString()).reason, 'other-device');
  const notOffered = await download('gw-a', bundleUrl(other.id), bearer('gw-a'));
  assert.is(notOffered.status, 403);
  assert.is(JSON.parse(notOffered.body.toString()).reason, 'not-offered');
  const done = await download('gw-done', bundleUrl(offered.id), bearer('gw-done'));
  assert.is(done.status, 403);
  const events = eventsOf('other-device');
  assert.ok(events.some((e) => e.device_id === 'gw-b'));
  // The token itself is never recorded.
  const all = fleet.db.prepare(`SELECT detail FROM audit WHERE event = 'download.denied'`).all() as {
    detail: string;
  }[];
  for (const t of tokens.values())
    assert.not.ok(
      all.some((e) => e.detail.includes(t)),
      'a token was logged',
    );
});

test('expired, missing and wrong tokens are 401; an unknown release is 404', async () => {
  const late = await download('gw-late', bundleUrl(offered.id), bearer('gw-late'));
  assert.is(late.status, 401);
  assert.is(JSON.parse(late.body.toString()).reason, 'expired-token');
  const none = await download('gw-a', bundleUrl(offered.id));
  assert.is(none.status, 401);
  assert.is(JSON.parse(none.body.toString()).reason, 'no-token');
  const wrong = await download('gw-a', bundleUrl(offered.id), { authorization: 'Bearer not-a-token' });
  assert.is(wrong.status, 401);
  const unknown = await download('gw-a', bundleUrl('ab'.repeat(32)), bearer('gw-a'));
  assert.is(unknown.status, 404);
  assert.ok(eventsOf('expired-token').length >= 1);
  assert.ok(eventsOf('unknown-release').length >= 1);
  const metrics = fleet.server.metrics.registry.render();
  assert.match(metrics, /edgeward_downloads_refused_total\{reason="expired-token"\} 1/);
});

test('a revoked device is refused even with its valid token', async () => {
  const before = await download('gw-gone', bundleUrl(offered.id), bearer('gw-gone'));
  assert.is(before.status, 200);
  createRegistry(fleet.db).revoke('gw-gone');
  const after = await download('gw-gone', bundleUrl(offered.id), bearer('gw-gone'));
  assert.is(after.status, 403);
  assert.is(JSON.parse(after.body.toString()).reason, 'revoked');
});

test('a client without a certificate fails the TLS handshake', async () => {
  const outcome = await download(null, bundleUrl(offered.id), bearer('gw-a')).then(
    (a) => `answered ${a.status}`,
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );
  // TLS 1.3: the server's alert (certificate required) arrives as the client reads.
  assert.match(outcome, /CERTIFICATE_REQUIRED|ECONNRESET|EPIPE|alert/i, outcome);
  const denied = fleet.db.prepare(`SELECT detail FROM audit WHERE event = 'tls.denied'`).all() as { detail: string }[];
  assert.ok(
    denied.some((e) => e.detail.includes('downloads')),
    'the refused handshake is a security event',
  );
});

test.run();
