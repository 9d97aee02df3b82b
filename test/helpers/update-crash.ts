// The crash-at-every-state suite (test/integration/update-crash*.test.ts): the real agent (a child process) takes
// an offer from a real fleet server, downloads the bundle over mTLS and is SIGKILLed in one update state (the
// EDGEWARD_UPDATE_KILL_AT drill switch kills it right after that state is persisted). Started again, it must end on
// the old image or the new one — never a partial one — and the fleet server must learn the outcome (update_status).
// The table is split over two files (before the switch, from it on).
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startAgentProcess, type AgentProcess } from './agent-process.js';
import { waitFor } from './fleet.js';
import { createUpdateRig, OLD_VERSION, type Bundle, type UpdateRig } from './update-rig.js';
import type { UpdateOffer } from '../../shared/src/index.js';

const PAYLOAD = 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface CrashCase {
  readonly killAt: string;
  /** The bundle: good (default) or with a tampered payload. */
  readonly tampered?: boolean;
  readonly healthHook?: string[];
  readonly outcome: 'Committed' | 'RolledBack' | 'Failed';
  readonly reasonCode?: string;
}

export const CRASH_CASES: CrashCase[] = [
  { killAt: 'Offered', outcome: 'Committed' },
  // Mid-download: once 100,000 bytes are on disk; the restart resumes with Range (and verifies from the file).
  { killAt: 'Downloading:100000', outcome: 'Committed' },
  // The bytes were verified as they arrived; the slot is synced before Verifying is recorded.
  { killAt: 'Verifying', outcome: 'Committed' },
  { killAt: 'Installing', outcome: 'Committed' },
  { killAt: 'Rebooting', outcome: 'Committed' },
  { killAt: 'HealthCheck', outcome: 'Committed' },
  { killAt: 'Committed', outcome: 'Committed' },
  // A tampered payload is refused while it streams in; cut mid-download, it is refused by the verification of the
  // resumed file instead.
  { killAt: 'Downloading:100000', tampered: true, outcome: 'Failed', reasonCode: 'FW_PAYLOAD_DIGEST' },
  { killAt: 'HealthCheck', healthHook: ['/bin/false'], outcome: 'RolledBack', reasonCode: 'UPDATE_HEALTH' },
  // Outcomes killed before their report (and, for RolledBack, before the switch back): the restart finishes them.
  { killAt: 'Failed', tampered: true, outcome: 'Failed', reasonCode: 'FW_PAYLOAD_DIGEST' },
  { killAt: 'RolledBack', healthHook: ['/bin/false'], outcome: 'RolledBack', reasonCode: 'UPDATE_HEALTH' },
];

let ids: string[] = [];
let rig: UpdateRig;
let good: Bundle;
let tampered: Bundle;

/** Publishes the offer until the agent reports on it or dies (the agent subscribes only once it is connected). */
async function offerUntilTaken(id: string, rollout: number, offer: UpdateOffer, agent: AgentProcess) {
  let dead = false;
  void agent.exited.then(() => (dead = true));
  await waitFor(
    async () => {
      if (dead || rig.states(id, rollout).length > 0) return true;
      await rig.publish(id, offer);
      await new Promise((r) => setTimeout(r, 200));
      return dead || rig.states(id, rollout).length > 0;
    },
    `${id} to take the offer`,
    20_000,
  );
}

async function runCase(c: CrashCase, i: number) {
  const id = ids[i]!;
  const rollout = 100 + i;
  const bundle = c.tampered ? tampered : good;
  const offer = rig.offer(bundle, rollout, '2.0.0');
  const cfg = rig.configFile(id, c.healthHook ? { healthCheck: { deadlineSeconds: 20, hook: c.healthHook } } : {});
  process.env.EDGEWARD_UPDATE_KILL_AT = c.killAt;
  const first = startAgentProcess(cfg);
  delete process.env.EDGEWARD_UPDATE_KILL_AT;
  try {
    await offerUntilTaken(id, rollout, offer, first);
    const how = await Promise.race([first.exited, new Promise((r) => setTimeout(() => r('timeout'), 30_000).unref())]);
    assert.is(how, 'SIGKILL', `${id} killed itself at ${c.killAt}\n${first.output().slice(-3000)}`);
  } finally {
    await first.kill('SIGKILL');
  }
  const requestsBefore = rig.server.requests.length;
  const second = startAgentProcess(cfg);
  try {
    if (c.killAt === 'Offered') await offerUntilTaken(id, rollout, offer, second);
    const got = await waitFor(
      () => rig.outcome(id, rollout),
      `${id} (${c.killAt}) to report its outcome`,
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${second.output().slice(-4000)}`);
    });
    assert.equal(
      [got.state, got.reason_code ?? undefined],
      [c.outcome, c.reasonCode],
      `${id} killed at ${c.killAt}: ${rig.states(id, rollout).join(' ')}`,
    );
    if (c.killAt.startsWith('Downloading:')) {
      const resumed = rig.server.requests.slice(requestsBefore).find((r) => r.cn === id);
      assert.match(resumed?.range ?? '', /^bytes=\d+-$/, 'the restarted download resumed with Range');
    }
    const run = rig.running(id);
    if (c.outcome === 'Committed') {
      assert.equal([run.version, run.trial, run.bytesSha256], ['2.0.0', false, sha(good.payload)], `${id} new image`);
    } else {
      assert.is(run.version, OLD_VERSION, `${id} on the old image`);
      assert.is(run.trial, false);
      assert.is(run.slot, 'a');
    }
  } finally {
    await second.kill('SIGKILL'); // the outcome is checked: no need for a clean stop
  }
}

/** Registers one test per case of CRASH_CASES whose killAt is in `killAts`, one after another, and runs them. */
export function runCrashSuite(killAts: readonly string[]): void {
  const selected = CRASH_CASES.filter((c) => killAts.includes(c.killAt));
  ids = selected.map((_, i) => `gw-${String(i + 1).padStart(3, '0')}`);
  test.before(async () => {
    rig = await createUpdateRig(ids);
    good = rig.kit.bundle({ version: '2.0.0', sequence: 11 }, PAYLOAD);
    const t = rig.kit.bundle({ version: '2.0.0', sequence: 11 }, PAYLOAD, { name: 'tampered.ewfw' });
    const bytes = Buffer.from(t.bytes);
    bytes[bytes.length - 100]! ^= 0x55; // a payload byte: the signatures still verify, the digest does not
    const path = `${t.path}.bad`;
    (await import('node:fs')).writeFileSync(path, bytes);
    tampered = { ...t, path, bytes, id: sha(bytes) };
  });
  test.after(async () => {
    await rig?.close();
  });
  const only = process.env.UPDATE_CASE;
  selected.forEach((c, i) => {
    if (only && !`${c.killAt}${c.tampered ? ' tampered' : ''}`.includes(only)) return;
    const what = `${c.tampered ? 'tampered bundle, ' : c.healthHook ? 'failing health hook, ' : ''}`;
    test(`${what}killed at ${c.killAt}: ends ${c.outcome}${c.reasonCode ? ` (${c.reasonCode})` : ''}`, () =>
      runCase(c, i));
  });
  test.run();
}
