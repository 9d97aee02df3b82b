// A rig for update client integration tests: a real fleet server, a firmware kit, a bundle download server, agent
// config files for child-process agents, offers published as the backend, and what the fleet db learned.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deviceTopic, encode, type UpdateOffer } from '../../shared/src/index.js';
import { readBootFile, slotPath, type BootFile } from '../../agent/src/update/index.js';
import { startBundleServer, type BundleServer } from './bundle-server.js';
import { createFirmwareKit, KIT_HARDWARE, type FirmwareKit } from './firmware.js';
import { createTestFleet, type TestFleet } from './fleet.js';
import { writeAgentConfig } from './agent-process.js';
import { tmpDir } from './tmp.js';

export const TOKEN = 'tok_'.padEnd(40, 'x');
export const OLD_VERSION = '1.0.0';
export const OLD_SEQUENCE = 10;

export interface Bundle {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly payload: Uint8Array;
  readonly id: string;
}

export interface UpdateRig {
  readonly fleet: TestFleet;
  readonly kit: FirmwareKit;
  readonly server: BundleServer;
  readonly dir: string;
  /** Serves `b` and returns the offer for it. */
  offer(b: Bundle, rolloutId: number, version: string): UpdateOffer;
  publish(deviceId: string, offer: UpdateOffer): Promise<void>;
  /** Writes the agent config of `deviceId`; `update` adds to the update section. */
  configFile(deviceId: string, update?: Record<string, unknown>): string;
  /** The final state the fleet db learned for (device, rollout), with its reason code. */
  outcome(deviceId: string, rolloutId: number): { state: string; reason_code: string | null } | undefined;
  states(deviceId: string, rolloutId: number): string[];
  boot(deviceId: string): BootFile | undefined;
  /** The running image as the folder says: active slot, trial, and the sha256 of the active slot's bytes. */
  running(deviceId: string): { slot: string; trial: boolean; version: string; bytesSha256: string | null };
  close(): Promise<void>;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function createUpdateRig(
  devices: string[],
  kitOpts: Parameters<typeof createFirmwareKit>[1] = {},
): Promise<UpdateRig> {
  const fleet = await createTestFleet(devices);
  await fleet.start();
  const dir = tmpDir('edgeward-update-');
  const kit = createFirmwareKit(dir, kitOpts);
  const trust = kit.trustFile();
  const server = await startBundleServer(fleet.dataDir, TOKEN);
  const stateDir = (id: string) => join(fleet.deviceDir(id), 'state');
  return {
    fleet,
    kit,
    server,
    dir,
    offer(b, rolloutId, version) {
      const name = `${b.id}.ewfw`;
      server.add(name, b.path);
      return {
        v: 1,
        id: randomUUID(),
        ts: Date.now(),
        action: 'install',
        rolloutId,
        releaseId: b.id,
        version,
        url: server.url(name),
        token: TOKEN,
        tokenExpires: Date.now() + 3_600_000,
        size: b.bytes.length,
      };
    },
    publish: (id, offer) => fleet.server.publish(deviceTopic(id, 'update'), encode(offer)),
    configFile(id, update = {}) {
      const d = fleet.deviceDir(id);
      return writeAgentConfig(d, {
        server: fleet.url(),
        deviceId: id,
        cert: join(d, 'device.crt'),
        key: join(d, 'device.key'),
        ca: join(d, 'ca.crt'),
        stateDir: stateDir(id),
        telemetryIntervalSeconds: 1,
        reconnect: { minSeconds: 0.1, maxSeconds: 1 },
        scan: { enabled: false },
        log: { level: 'debug' },
        update: {
          trust,
          hardware: KIT_HARDWARE,
          initialVersion: OLD_VERSION,
          initialSequence: OLD_SEQUENCE,
          download: { baseDelaySeconds: 0.05 },
          healthCheck: { deadlineSeconds: 20 },
          ...update,
        },
      });
    },
    outcome: (id, rollout) =>
      fleet.db
        .prepare(
          `SELECT state, reason_code FROM update_status WHERE device_id = ? AND rollout_id = ? ` +
            `AND state IN ('Committed', 'RolledBack', 'Failed') ORDER BY id DESC LIMIT 1`,
        )
        .get(id, rollout) as { state: string; reason_code: string | null } | undefined,
    states: (id, rollout) =>
      (
        fleet.db
          .prepare('SELECT state FROM update_status WHERE device_id = ? AND rollout_id = ? ORDER BY id')
          .all(id, rollout) as { state: string }[]
      ).map((r) => r.state),
    boot: (id) => readBootFile(stateDir(id)),
    running(id) {
      const b = readBootFile(stateDir(id));
      if (!b) return { slot: 'a', trial: false, version: OLD_VERSION, bytesSha256: null };
      let bytesSha256: string | null = null;
      try {
        bytesSha256 = sha(readFileSync(slotPath(stateDir(id), b.active)));
      } catch {}
      return { slot: b.active, trial: b.trial, version: b.slots[b.active]?.version ?? '?', bytesSha256 };
    },
    async close() {
      await server.close();
      await fleet.close();
    },
  };
}
