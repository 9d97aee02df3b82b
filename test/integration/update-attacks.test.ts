// Every attack the bundle verifier knows, delivered through the update channel to the real agent (a child process)
// by a real fleet server: each is refused with its FW_* code reported on update/status, and the old image stays
// active. Then a good bundle still installs (nothing was left half-done), and a failing health hook rolls back.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPair } from '../../shared/src/crypto/index.js';
import type { UpdateOffer } from '../../shared/src/index.js';
import { startAgentProcess, type AgentProcess } from '../helpers/agent-process.js';
import { KIT_HARDWARE } from '../helpers/firmware.js';
import { waitFor } from '../helpers/fleet.js';
import { createUpdateRig, OLD_SEQUENCE, OLD_VERSION, type Bundle, type UpdateRig } from '../helpers/update-rig.js';

const PAYLOAD = 64 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let rig: UpdateRig;
let agent: AgentProcess | undefined;
let rollout = 0;

test.before(async () => {
  // Two release keys, both needed: "too few signatures" is one of them alone.
  rig = await createUpdateRig(['gw-001', 'gw-002'], { releaseKeys: 2, releaseThreshold: 2 });
});
test.after(async () => {
  await agent?.kill('SIGTERM');
  await rig?.close();
});

const both = () => ({ signers: rig.kit.release });

async function deliver(id: string, b: Bundle, version: string) {
  const r = ++rollout;
  const offer: UpdateOffer = rig.offer(b, r, version);
  // Offered until the agent reports on it (it subscribes once connected).
  await waitFor(
    async () => {
      if (rig.states(id, r).length > 0) return true;
      await rig.publish(id, offer);
      await new Promise((res) => setTimeout(res, 200));
      return rig.states(id, r).length > 0;
    },
    `${id} to take offer ${r}`,
    20_000,
  );
  return waitFor(() => rig.outcome(id, r), `the outcome of rollout ${r}`, 20_000).catch((err: Error) => {
    throw new Error(`${err.message}\n${agent?.output().slice(-3000)}`);
  });
}

const ATTACKS: [string, () => Bundle, string][] = [
  [
    'a tampered payload',
    () => {
      const b = rig.kit.bundle({ version: '2.0.0', sequence: 11 }, PAYLOAD, { ...both(), name: 'tampered.ewfw' });
      const bytes = Buffer.from(b.bytes);
      bytes[bytes.length - 1]! ^= 0x01;
      writeFileSync(b.path, bytes);
      return { ...b, bytes, id: sha(bytes) };
    },
    'FW_PAYLOAD_DIGEST',
  ],
  [
    'a rollback (sequence not above the installed one)',
    () => rig.kit.bundle({ version: '0.9.0', sequence: OLD_SEQUENCE }, PAYLOAD, both()),
    'FW_ROLLBACK',
  ],
  [
    'another hardware',
    () => rig.kit.bundle({ version: '2.0.0', sequence: 12, hardware: 'other-gw' }, PAYLOAD, both()),
    'FW_WRONG_HARDWARE',
  ],
  [
    'an expired manifest',
    () =>
      rig.kit.bundle(
        { version: '2.0.0', sequence: 13, lifetimeSeconds: 60, now: Date.now() - 86_400_000 },
        PAYLOAD,
        both(),
      ),
    'FW_EXPIRED',
  ],
  [
    'an unknown key',
    () => rig.kit.bundle({ version: '2.0.0', sequence: 14 }, PAYLOAD, { signers: [generateKeyPair()], name: 'x.ewfw' }),
    'FW_UNKNOWN_KEY',
  ],
  [
    'too few signatures',
    () => rig.kit.bundle({ version: '2.0.0', sequence: 15 }, PAYLOAD, { signers: [rig.kit.release[0]!] }),
    'FW_THRESHOLD',
  ],
];

const onOldImage = (id: string) => {
  const run = rig.running(id);
  assert.equal([run.slot, run.trial, run.version], ['a', false, OLD_VERSION], `${id} still runs the old image`);
};

test('every attack is refused with its code, reported, and the old image stays active', async () => {
  agent = startAgentProcess(rig.configFile('gw-001'));
  for (const [what, make, code] of ATTACKS) {
    const got = await deliver('gw-001', make(), '2.0.0');
    assert.equal([got.state, got.reason_code], ['Failed', code], what);
    onOldImage('gw-001');
  }
  const hw = await waitFor(
    () => rig.fleet.db.prepare("SELECT hardware FROM devices WHERE id = 'gw-001'").pluck().get() as string | null,
    'the status message to carry the hardware id',
  );
  assert.is(hw, KIT_HARDWARE);
});

test('after the attacks a good bundle installs and is committed', async () => {
  const good = rig.kit.bundle({ version: '3.0.0', sequence: 20 }, PAYLOAD, both());
  const got = await deliver('gw-001', good, '3.0.0');
  assert.equal([got.state, got.reason_code], ['Committed', null]);
  const run = rig.running('gw-001');
  assert.equal([run.slot, run.trial, run.version, run.bytesSha256], ['b', false, '3.0.0', sha(good.payload)]);
  await waitFor(
    () => rig.fleet.db.prepare("SELECT firmware_version FROM devices WHERE id = 'gw-001'").pluck().get() === '3.0.0',
    'the fleet to see the new firmware version',
  );
  await agent?.kill('SIGTERM');
  agent = undefined;
});

test('a failing health hook rolls the new image back to the old slot, and says so', async () => {
  agent = startAgentProcess(rig.configFile('gw-002', { healthCheck: { deadlineSeconds: 20, hook: ['/bin/false'] } }));
  const got = await deliver('gw-002', rig.kit.bundle({ version: '2.0.0', sequence: 11 }, PAYLOAD, both()), '2.0.0');
  assert.equal([got.state, got.reason_code], ['RolledBack', 'UPDATE_HEALTH']);
  onOldImage('gw-002');
  assert.equal(rig.boot('gw-002')?.slots.b?.version, '2.0.0', 'the new image was installed, then left');
});

test.run();
