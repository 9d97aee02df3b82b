// Firmware update, end to end (issue 16), against curl.
//
// 1. One 64 MiB update on loopback: the real agent (dist/iot-agent.js, its own process) takes the offer of a real
//    rollout, downloads the bundle from the fleet server's download listener over mutual TLS, verifies it while
//    streaming (signatures first, then the payload's SHA-256) into the inactive A/B slot, and switches. Timed by the
//    agent's own update reports, from entering Downloading to entering Rebooting (download + verify + install).
//    The peer: `curl` downloading the same file from the same listener with a device certificate and token, then
//    `sha256sum` of it, in the same run. The agent's RSS is sampled every 20 ms throughout.
// 2. 500 virtual devices updating in one rollout (fleet-sim --scenario rollout, stages 1 %, 10 %, 50 %, 100 %, no
//    minimum wait): the fleet server's peak RSS and the time each stage took.
//
// Targets: the update takes at most 1.3× curl + sha256sum; the agent's RSS stays flat, at most 80 MB.
// Run: node --import tsx bench/firmware-update.ts [--size-mib 64] [--rounds 3] [--devices 500] [--skip-fleet]
// Profiling the agent: BENCH_AGENT_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" adds node flags to its process.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_NODE_FLAGS } from '../agent/src/footprint.js';
import { createCliAdmin } from '../broker/src/admin/cli-admin.js';
import { openFleetDb, initPki, loadCa } from '../broker/src/fleet/data-dir.js';
import { provisionDevice } from '../broker/src/fleet/provision.js';
import { createRegistry } from '../broker/src/db/registry.js';
import { createTrust, signBundleFile } from '../firmware-tools/src/index.js';
import { generateKeyPair } from '../shared/src/crypto/index.js';
import { createSimulator } from '../simulator/src/index.js';
import { ensureBuilt, fmt, loadAverage, median, root, startProc, waitForPort, type Proc } from './lib/procs.js';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
    devices: { type: 'string', default: '500' },
    'skip-fleet': { type: 'boolean', default: false },
  },
});
const SIZE = Number(values['size-mib']) * 1024 * 1024;
const ROUNDS = Number(values.rounds);
const DEVICES = Number(values.devices);
const HARDWARE = 'bench-gw';

for (const tool of ['curl', 'sha256sum']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error(`${tool} is needed for the peer figure: apt-get install -y curl coreutils`);
    process.exit(2);
  }
}
ensureBuilt();

const work = mkdtempSync(join(tmpdir(), 'edgeward-bench-fw-'));
const data = join(work, 'data');
const ports = { mqtt: 19883, http: 19443, download: 19444 };

// A fleet: PKI, two devices (one for the agent, one whose certificate curl uses), the firmware keys and trust.
await initPki(data);
{
  const db = openFleetDb(data);
  const registry = createRegistry(db);
  const ca = await loadCa(data);
  for (const id of ['gw-bench', 'gw-curl']) await provisionDevice(registry, ca, id, join(work, id));
  db.close();
}
const root_ = generateKeyPair();
const release = generateKeyPair();
const trust = createTrust({ rootSigners: [root_], releaseKeys: [release.publicKey] });
writeFileSync(join(work, 'trust.cbor'), trust);
{
  const admin = createCliAdmin(data, 'bench');
  await admin.trust.set(trust);
  admin.close();
}

/** A payload file of `size` random bytes, written in 1 MiB pieces. */
function payloadFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  for (let done = 0; done < size; done += 1024 * 1024) writeSync(fd, randomBytes(Math.min(1024 * 1024, size - done)));
  closeSync(fd);
}

async function signed(name: string, size: number, sequence: number): Promise<string> {
  const payload = join(work, `${name}.img`);
  const out = join(work, `${name}.ewfw`);
  payloadFile(payload, size);
  await signBundleFile({
    hardware: HARDWARE,
    version: `2.${sequence}.0`,
    sequence,
    payloadPath: payload,
    outPath: out,
    signers: [release],
  });
  rmSync(payload);
  return out;
}

function serve(): Proc {
  return startProc(process.execPath, [
    `${root}dist/fleet.js`,
    'serve',
    ...['--data', data, '--mqtt-port', String(ports.mqtt), '--http-port', String(ports.http)],
    ...['--download-port', String(ports.download), '--log-level', 'error'],
  ]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(fn: () => T | undefined, what: string, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 1. One update, end to end, against curl + sha256sum.
console.log(`# firmware-update: one ${fmt(SIZE / 1024 / 1024)} MiB update end to end, ${ROUNDS} rounds`);
const server = serve();
await waitForPort(ports.download);
const db = openFleetDb(data);
const stateDir = join(work, 'agent-state');
mkdirSync(stateDir, { recursive: true });
const agentConfig = join(work, 'agent.json');
writeFileSync(
  agentConfig,
  JSON.stringify({
    server: `mqtts://127.0.0.1:${ports.mqtt}`,
    deviceId: 'gw-bench',
    cert: join(work, 'gw-bench', 'device.crt'),
    key: join(work, 'gw-bench', 'device.key'),
    ca: join(work, 'gw-bench', 'ca.crt'),
    stateDir,
    scan: { enabled: false },
    log: { level: 'warn' },
    update: { trust: join(work, 'trust.cbor'), hardware: HARDWARE, initialVersion: '2.0.0', initialSequence: 0 },
  }),
);
// Started as its systemd unit starts it (agent/src/install/unit.ts), with the same node flags.
const agent = startProc(process.execPath, [
  ...AGENT_NODE_FLAGS,
  ...(process.env.BENCH_AGENT_FLAGS?.split(' ') ?? []),
  `${root}dist/iot-agent.js`,
  'run',
  '--config',
  agentConfig,
]);
await until(
  () => (db.prepare(`SELECT online FROM devices WHERE id = 'gw-bench'`).pluck().get() === 1 ? 1 : undefined),
  'the agent',
);

const ours: number[] = [];
const peer: number[] = [];
let agentPeakRss = 0;
let agentBaseRss = 0;
const admin = createCliAdmin(data, 'bench');
for (let round = 1; round <= ROUNDS; round++) {
  const bundle = await signed(`fw-${round}`, SIZE, round);
  const { release: rel } = await admin.releases.publish({ path: bundle });

  // Peer: curl with gw-curl's certificate and a token for it, then sha256sum, on the same listener.
  const curlRollout = await admin.rollouts.create({ releaseId: rel.id, selector: 'ids:gw-curl', minWaitMs: 0 });
  const token = randomBytes(32).toString('base64url');
  db.prepare(
    `UPDATE rollout_devices SET state = 'Offered', token_hash = ?, token_expires = ?, offered_at = ? ` +
      `WHERE rollout_id = ? AND device_id = 'gw-curl'`,
  ).run(createHash('sha256').update(token).digest(), Date.now() + 3_600_000, Date.now(), curlRollout.id);
  const url = `https://127.0.0.1:${ports.download}/v1/releases/${rel.id}/bundle`;
  const out = join(work, 'curl.ewfw');
  const t0 = process.hrtime.bigint();
  const curl = spawnSync('curl', [
    ...['-sS', '--fail', '-o', out, '-H', `Authorization: Bearer ${token}`],
    ...['--cert', join(work, 'gw-curl', 'device.crt'), '--key', join(work, 'gw-curl', 'device.key')],
    ...['--cacert', join(work, 'gw-curl', 'ca.crt'), url],
  ]);
  const sum = spawnSync('sha256sum', [out], { encoding: 'utf8' });
  const peerMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (curl.status !== 0 || !sum.stdout.startsWith(rel.id)) throw new Error(`curl failed: ${curl.stderr}`);
  peer.push(peerMs);
  rmSync(out);
  await admin.rollouts.abort(curlRollout.id);

  // Ours: the rollout offers the release to the agent.
  agentBaseRss = agent.rss();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      agentPeakRss = Math.max(agentPeakRss, agent.rss());
      await sleep(20);
    }
  })();
  const rollout = await admin.rollouts.create({ releaseId: rel.id, selector: 'ids:gw-bench', minWaitMs: 0 });
  const states = () =>
    db
      .prepare(`SELECT state, device_ts FROM update_status WHERE rollout_id = ? AND device_id = 'gw-bench' ORDER BY id`)
      .all(rollout.id) as { state: string; device_ts: number }[];
  const done = await until(() => {
    const s = states();
    return s.some((x) => x.state === 'Committed' || x.state === 'Failed' || x.state === 'RolledBack') ? s : undefined;
  }, `round ${round}'s update`);
  sampling = false;
  await sampler;
  const at = (state: string) => done.find((x) => x.state === state)?.device_ts;
  const from = at('Downloading');
  const to = at('Rebooting');
  if (!done.some((x) => x.state === 'Committed') || from === undefined || to === undefined)
    throw new Error(`round ${round}: ${JSON.stringify(done)}`);
  ours.push(to - from);
  console.log(
    `round ${round}: edgeward ${fmt(to - from)} ms (download ${fmt((at('Verifying') ?? to) - from)} ms, verify + ` +
      `install ${fmt(to - (at('Verifying') ?? from))} ms) · curl + sha256sum ${fmt(peerMs)} ms`,
  );
  rmSync(bundle);
}
admin.close();
await agent.stop();
db.close();
await server.stop();

const oursMs = median(ours);
const peerMs = median(peer);
const ratio = oursMs / peerMs;
console.log('');
console.log(`| ${fmt(SIZE / 1024 / 1024)} MiB update (median of ${ROUNDS}) | ms | MB/s |`);
console.log('| --- | ---: | ---: |');
const mbps = (ms: number) => fmt(SIZE / 1048576 / (ms / 1000));
console.log(
  `| edgeward agent: download, streaming verify, install to the inactive slot | ${fmt(oursMs)} | ${mbps(oursMs)} |`,
);
console.log(`| curl (same listener, mTLS) + sha256sum | ${fmt(peerMs)} | ${mbps(peerMs)} |`);
console.log(
  `ratio edgeward / curl+sha256sum: ${ratio.toFixed(2)}× (target ≤ 1.3×) → ${ratio <= 1.3 ? 'MET' : 'MISSED'}`,
);
const peakMb = agentPeakRss / 1e6;
console.log(
  `agent RSS: ${fmt(agentBaseRss / 1e6, 1)} MB before the last update, peak ${fmt(peakMb, 1)} MB during the updates ` +
    `(target ≤ 80 MB) → ${peakMb <= 80 ? 'MET' : 'MISSED'}`,
);

// ---------------------------------------------------------------------------------------------------------------
// 2. 500 virtual devices in one rollout: server RSS and time per stage.
if (!values['skip-fleet']) {
  console.log('');
  console.log(`# ${DEVICES} virtual devices updating in one rollout (stages 1%, 10%, 50%, 100%; no minimum wait)`);
  const server2 = serve();
  await waitForPort(ports.http);
  const bundle = await signed('fleet', 1024 * 1024, ROUNDS + 1);
  const sim = await createSimulator({
    server: `mqtts://127.0.0.1:${ports.mqtt}`,
    serverApi: `https://127.0.0.1:${ports.http}`,
    dataDir: data,
    devices: DEVICES,
    scenario: 'rollout',
    release: bundle,
    stages: [1, 10, 50, 100],
    durationMs: 600_000,
    exposureEveryMs: 0,
    telemetryIntervalSeconds: 10,
    serverRss: () => server2.peakRss(),
  });
  const r = await sim.done;
  await server2.stop();
  const ro = r.rollout!;
  console.log(`| stage | share | devices | seconds |`);
  console.log('| ---: | ---: | ---: | ---: |');
  for (const s of ro.stageTimes) console.log(`| ${s.stage + 1} | ${s.percent}% | ${s.devices} | ${s.seconds ?? '—'} |`);
  console.log(
    `rollout ${ro.state}: ${ro.devicesUpdated} updated, ${ro.devicesFailed} failed; fleet server peak RSS ` +
      `${fmt((r.memory.serverRssBytes ?? 0) / 1e6)} MB; invariants ${r.ok ? 'all held' : JSON.stringify(r.invariants)}`,
  );
}
console.log(`load average ${loadAverage()} (2 cores)`);
rmSync(work, { recursive: true, force: true });
