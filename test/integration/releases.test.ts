// Firmware releases and trust documents on a real fleet server: `fleet trust set` and `fleet release publish` as
// CLI child processes on the data folder, the same through the operator API (release-manager), every refusal of the
// firmware verifier with its code and nothing left behind, content-addressed files, idempotence, a sequence clash,
// a 64 MiB upload streamed to disk (the server's memory does not grow by it), and list / show by id prefix.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiClient } from '../../broker/src/admin/api-client.js';
import { createRemoteAdmin } from '../../broker/src/admin/remote.js';
import type { FleetAdmin } from '../../broker/src/admin/types.js';
import { createOperatorAudit } from '../../broker/src/db/operator-audit.js';
import { removeStaleUploads } from '../../broker/src/fleet/releases.js';
import { createTrust, nextTrust, verifyTrustDocument } from '../../firmware-tools/src/index.js';
import { generateKeyPair } from '../../shared/src/index.js';
import { createFirmwareKit, type FirmwareKit } from '../helpers/firmware.js';
import { createTestFleet, type TestFleet, waitFor } from '../helpers/fleet.js';
import { addOperator, apiClientFor } from '../helpers/operators.js';
import { fleetCli } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

let fleet: TestFleet;
let kit: FirmwareKit;
let api: FleetAdmin;
let client: ApiClient;
const files = tmpDir('edgeward-releases-');
let releasesDir: string;
const credentialFile = join(files, 'rm.key');

/** Files in DATA/releases (the temporary .incoming-* ones too). */
const stored = () => {
  try {
    return readdirSync(releasesDir).sort();
  } catch {
    return [];
  }
};

/** Signs with both release keys (the kit's trust wants two). */
const bundle = (version: string, sequence: number, payload: number | Uint8Array = 4096, name?: string) =>
  kit.bundle({ version, sequence }, payload, { signers: kit.release, ...(name ? { name } : {}) });

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    return (err as { code: string }).code;
  }
  throw new Error('expected a refusal');
};

test.before(async () => {
  fleet = await createTestFleet();
  kit = createFirmwareKit(files, { releaseKeys: 2, releaseThreshold: 2 });
  const server = await fleet.start();
  const manager = await addOperator(fleet.db, 'rm-1', 'release-manager');
  client = apiClientFor(fleet.dataDir, server.httpPort, { credential: manager.credential });
  api = createRemoteAdmin(client);
  writeFileSync(credentialFile, manager.credential, { mode: 0o600 });
  releasesDir = join(fleet.dataDir, 'releases');
});

test.after(async () => {
  api.close();
  await fleet.close();
});

test('without a trust document, publishing is refused (CLI and API) and nothing is kept', async () => {
  const b = bundle('0.9.0', 9);
  const r = await fleetCli(['release', 'publish', b.path, '--data', fleet.dataDir]);
  assert.is(r.code, 1, r.output);
  assert.match(r.stderr, /FLEET_TRUST_MISSING/);
  assert.is(await codeOf(api.releases.publish({ path: b.path })), 'FLEET_TRUST_MISSING');
  assert.equal(
    stored().filter((f) => f.startsWith('.incoming')),
    [],
  );
  assert.equal((await api.releases.list()).length, 0);
});

test('trust set: the first document is the anchor, the next must chain, others are refused', async () => {
  const r = await fleetCli(['trust', 'set', kit.trustFile(), '--data', fleet.dataDir]);
  assert.is(r.code, 0, r.output);
  assert.match(r.stdout, /installed: trust document version 1/);
  // The same document again: not an error.
  const again = await api.trust.set(kit.trust);
  assert.is(again.installed, false);
  // A document of another root, version 1: not above the installed one.
  const strangerRoot = generateKeyPair();
  const stranger = createTrust({ rootSigners: [strangerRoot], releaseKeys: [generateKeyPair().publicKey] });
  assert.is(await codeOf(api.trust.set(stranger)), 'FW_TRUST_ROLLBACK');
  const v1 = verifyTrustDocument(kit.trust);
  const v2 = nextTrust(v1, {}, { signers: [kit.root] });
  const v3 = nextTrust(verifyTrustDocument(v2), {}, { signers: [kit.root] });
  // Skipping version 2 breaks the chain.
  assert.is(await codeOf(api.trust.set(v3)), 'FW_TRUST_CHAIN');
  // Version 2 signed by a root the fleet never trusted.
  const forged = nextTrust(verifyTrustDocument(stranger), {}, { signers: [strangerRoot] });
  assert.is(await codeOf(api.trust.set(forged)), 'FW_TRUST_CHAIN');
  // The real version 2 chains.
  const ok = await api.trust.set(v2);
  assert.equal([ok.installed, ok.trust.version], [true, 2]);
  const shown = await fleetCli(['trust', 'show', '--json', '--data', fleet.dataDir]);
  assert.is(shown.code, 0, shown.output);
  assert.equal(
    (JSON.parse(shown.stdout) as { version: number }[]).map((t) => t.version),
    [1, 2],
  );
  assert.equal(
    (await api.trust.list()).map((t) => t.version),
    [1, 2],
  );
});

test('publish with the CLI on the data folder: content-addressed, 0600, idempotent, audited', async () => {
  const b = bundle('1.0.0', 10);
  const r = await fleetCli(['release', 'publish', b.path, '--json', '--data', fleet.dataDir]);
  assert.is(r.code, 0, r.output);
  const out = JSON.parse(r.stdout) as { release: { id: string; sequence: number }; created: boolean };
  assert.is(out.created, true);
  assert.is(out.release.id, b.id);
  assert.is(out.release.id, createHash('sha256').update(readFileSync(b.path)).digest('hex'));
  const file = join(releasesDir, `${b.id}.ewfw`);
  assert.equal(readFileSync(file), Buffer.from(b.bytes));
  assert.is(statSync(file).mode & 0o777, 0o600);
  // Again, through the API: the existing release.
  const viaApi = await api.releases.publish({ path: b.path });
  assert.equal([viaApi.created, viaApi.release.id], [false, b.id]);
  const trail = createOperatorAudit(fleet.db).page({ limit: 50, action: 'release.publish' });
  assert.ok(trail.some((e) => e.objectId === b.id && e.via === 'cli' && e.outcome === 'ok'));
  assert.ok(trail.some((e) => e.objectId === b.id && e.via === 'api' && e.outcome === 'ok'));
});

test('publish through the API; same hardware and sequence is a conflict (409)', async () => {
  const b = bundle('1.1.0', 11);
  const out = await api.releases.publish({ path: b.path });
  assert.equal([out.created, out.release.id, out.release.version, out.release.sequence], [true, b.id, '1.1.0', 11]);
  assert.is(out.release.signers.length, 2);
  const clash = bundle('1.1.1', 11);
  try {
    await api.releases.publish({ path: clash.path });
    assert.unreachable('a second bundle with sequence 11 was accepted');
  } catch (err) {
    assert.is((err as { code: string }).code, 'FLEET_RELEASE_CONFLICT');
    assert.is((err as { status: number }).status, 409);
  }
  assert.not.ok(stored().includes(`${clash.id}.ewfw`));
});

test('every refusal of the verifier keeps its code (422 through the API) and leaves no file', async () => {
  const before = stored();
  const good = bundle('2.0.0', 20);
  const tampered = Buffer.from(good.bytes);
  tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0xff;
  const tamperedFile = join(files, 'tampered.ewfw');
  writeFileSync(tamperedFile, tampered);
  const stranger = generateKeyPair();
  const unknown = kit.bundle({ version: '2.0.1', sequence: 21 }, 1024, { signers: [stranger], name: 'unknown.ewfw' });
  const tooFew = kit.bundle({ version: '2.0.2', sequence: 22 }, 1024, { signers: [kit.release[0]!], name: 'few.ewfw' });
  const expired = kit.bundle(
    { version: '2.0.3', sequence: 23, now: Date.now() - 10 * 86_400_000, lifetimeSeconds: 86_400 },
    1024,
    { signers: kit.release, name: 'expired.ewfw' },
  );
  const garbage = join(files, 'garbage.ewfw');
  writeFileSync(garbage, randomBytes(5000));
  const cases: [string, string][] = [
    [tamperedFile, 'FW_PAYLOAD_DIGEST'],
    [unknown.path, 'FW_UNKNOWN_KEY'],
    [tooFew.path, 'FW_THRESHOLD'],
    [expired.path, 'FW_EXPIRED'],
    [garbage, 'FW_BAD_FORMAT'],
  ];
  for (const [file, code] of cases) {
    try {
      await api.releases.publish({ path: file });
      assert.unreachable(`${file} was published`);
    } catch (err) {
      assert.is((err as { code: string }).code, code, file);
      assert.is((err as { status: number }).status, 422, file);
    }
    assert.equal(stored(), before, `files left behind by ${file}`);
  }
  // The CLI on the data folder prints the code and fails (one of them: each run starts a process).
  for (const [file, code] of cases.slice(0, 1)) {
    const r = await fleetCli(['release', 'publish', file, '--data', fleet.dataDir]);
    assert.is(r.code, 1, r.output);
    assert.match(r.stderr, new RegExp(`error ${code}`), file);
    assert.equal(stored(), before, `files left behind by ${file}`);
  }
});

test('a 64 MiB bundle is streamed to disk: the server does not hold it in memory', async () => {
  const { path, id } = bundle('3.0.0', 30, 64 * 1024 * 1024, 'big.ewfw');
  const size = statSync(path).size;
  const base = process.memoryUsage().rss;
  let peak = base;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    const out = await api.releases.publish({ path });
    assert.is(out.release.id, id);
    assert.is(out.release.size, size);
  } finally {
    clearInterval(sample);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  // Loose: buffering the upload (or reading the file whole to verify it) would add at least its 64 MiB.
  if (process.env.TEST_LOG) console.log(`RSS grew by ${((peak - base) / 1048576).toFixed(1)} MiB`);
  assert.ok(peak - base < 40 * 1024 * 1024, `RSS grew by ${Math.round((peak - base) / 1048576)} MiB`);
  assert.is(statSync(join(releasesDir, `${id}.ewfw`)).size, size);
});

test('list and show (by a unique prefix, --json, both ways); a short or unknown prefix is refused', async () => {
  const list = await fleetCli(['release', 'list', '--json', '--data', fleet.dataDir]);
  assert.is(list.code, 0, list.output);
  const items = JSON.parse(list.stdout) as { id: string; version: string }[];
  assert.equal(items.map((r) => r.version).sort(), ['1.0.0', '1.1.0', '3.0.0']);
  assert.equal(
    (await api.releases.list()).map((r) => r.id),
    items.map((r) => r.id),
  );
  const target = items.find((r) => r.version === '1.1.0')!;
  const show = await fleetCli(['release', 'show', target.id.slice(0, 10), '--data', fleet.dataDir]);
  assert.is(show.code, 0, show.output);
  assert.match(show.stdout, new RegExp(`^release ${target.id}\n`));
  assert.match(show.stdout, /version {4}1\.1\.0 \(sequence 11\)/);
  assert.is((await api.releases.get(target.id.slice(0, 8))).id, target.id);
  assert.is((await api.releases.get(target.id)).version, '1.1.0');
  assert.is(await codeOf(api.releases.get('00000000')), 'FLEET_RELEASE_UNKNOWN');
  // The CLI through the operator API prints the same.
  const remote = await fleetCli([
    'release',
    'list',
    '--json',
    '--server',
    `https://127.0.0.1:${fleet.server.httpPort}`,
    '--ca',
    join(fleet.dataDir, 'pki', 'ca.crt'),
    '--credential',
    credentialFile,
  ]);
  assert.is(remote.code, 0, remote.output);
  assert.equal(JSON.parse(remote.stdout), items);
});

test('an upload cut off half-way keeps nothing, and the server goes on', async () => {
  const b = bundle('4.0.0', 40, 512 * 1024, 'cut.ewfw');
  const token = await client.token();
  await new Promise<void>((resolve) => {
    const req = request({
      host: '127.0.0.1',
      port: fleet.server.httpPort,
      method: 'POST',
      path: '/api/v1/releases',
      ca: readFileSync(join(fleet.dataDir, 'pki', 'ca.crt')),
      agent: false,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        'content-length': b.bytes.length,
      },
    });
    req.on('error', () => resolve());
    req.on('response', (res) => (res.resume(), resolve()));
    req.write(Buffer.from(b.bytes).subarray(0, 100_000), () => setImmediate(() => req.destroy()));
  });
  await waitFor(() => stored().every((f) => !f.startsWith('.incoming')), 'the partial upload removed');
  assert.not.ok(stored().includes(`${b.id}.ewfw`));
  assert.is(await codeOf(api.releases.get(b.id)), 'FLEET_RELEASE_UNKNOWN');
  assert.is((await api.releases.publish({ path: b.path })).created, true);
});

test('unfinished uploads older than a day are removed; a live one is kept', () => {
  const old = join(releasesDir, '.incoming-deadbeef');
  const live = join(releasesDir, '.incoming-cafe');
  writeFileSync(old, 'half');
  writeFileSync(live, 'half');
  const dayAgo = (Date.now() - 25 * 3600_000) / 1000;
  utimesSync(old, dayAgo, dayAgo);
  assert.is(removeStaleUploads(releasesDir), 1);
  assert.equal(
    stored().filter((f) => f.startsWith('.incoming')),
    ['.incoming-cafe'],
  );
  rmSync(live);
});

test.run();
