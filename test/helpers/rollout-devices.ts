// Fake updating devices for rollout tests: real MQTT clients with their own certificates that subscribe to their
// update topic, keep every offer they get and answer with update/status reports as the test says. Also a release
// row put straight into the database (the releases part publishes real ones).
import { createHash, randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { decodeUpdateOffer, deviceTopic, encode, type UpdateOffer, type UpdateState } from '../../shared/src/index.js';
import type { Db } from '../../broker/src/db/open.js';
import type { TestFleet } from './fleet.js';

/** What a fake device does with an install offer: nothing (the test answers), commit, or fail with a code. */
export type Answer = 'manual' | 'commit' | { fail: string; state?: 'Failed' | 'RolledBack' };

export interface FakeUpdater {
  readonly id: string;
  readonly offers: UpdateOffer[];
  answer: Answer;
  report(state: UpdateState, extra?: { reasonCode?: string; rolloutId?: number; releaseId?: string }): Promise<void>;
  /** Connects (again) and subscribes to the update topic. */
  connect(): Promise<void>;
  close(): Promise<void>;
}

/** `url`: the broker to connect to (a cluster node), instead of the fleet's own server. */
export function fakeUpdater(
  fleet: TestFleet,
  id: string,
  answer: Answer = 'manual',
  opts: { url?: string } = {},
): FakeUpdater {
  let client: MqttClient | undefined;
  const dev: FakeUpdater = {
    id,
    offers: [],
    answer,
    async report(state, extra = {}) {
      const last = dev.offers.filter((o) => o.action === 'install').at(-1);
      await client!.publishAsync(
        deviceTopic(id, 'update/status'),
        encode({
          v: 1,
          id: randomBytes(9).toString('base64url'),
          ts: Date.now(),
          rolloutId: extra.rolloutId ?? last!.rolloutId,
          releaseId: extra.releaseId ?? last!.releaseId,
          state,
          ...(extra.reasonCode ? { reasonCode: extra.reasonCode, reason: `failed: ${extra.reasonCode}` } : {}),
        }),
        { qos: 1 },
      );
    },
    async connect() {
      client = await fleet.connect(id, opts.url === undefined ? {} : { url: opts.url });
      client.on('message', (_topic, payload) => {
        const offer = decodeUpdateOffer(payload);
        dev.offers.push(offer);
        if (offer.action !== 'install' || dev.answer === 'manual') return;
        const a = dev.answer;
        void (async () => {
          await dev.report('Downloading');
          if (a === 'commit') await dev.report('Committed');
          else await dev.report(a.state ?? 'Failed', { reasonCode: a.fail });
        })().catch(() => {});
      });
      await client.subscribeAsync(deviceTopic(id, 'update'), { qos: 1 });
    },
    async close() {
      await client?.endAsync(true);
      client = undefined;
    },
  };
  return dev;
}

/** Puts a release row into the database, as if published; returns its id. */
export function insertRelease(db: Db, opts: { hardware?: string; version?: string; sequence?: number } = {}): string {
  const id = createHash('sha256').update(randomBytes(16)).digest('hex');
  db.prepare(
    `INSERT INTO releases (id, hardware, version, sequence, size, payload_size, payload_sha256, manifest, signers,
       expires_at, published_at, published_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    id,
    opts.hardware ?? 'test-gw',
    opts.version ?? '2.0.0',
    opts.sequence ?? Math.floor(Math.random() * 1e9),
    4096,
    4000,
    '00'.repeat(32),
    Buffer.from([0xa0]),
    '[]',
    Date.now() + 86_400_000,
    Date.now(),
    'test',
  );
  return id;
}
