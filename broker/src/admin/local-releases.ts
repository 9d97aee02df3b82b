// Releases and trust documents in the fleet store (the server's database and data folder, or the cluster's shared
// store), as the caller: each publication and trust change goes to the security event log with the actor.
import { createReadStream } from 'node:fs';
import type { AuditEvent } from '../db/audit.js';
import type { ReleasePublisher } from '../fleet/release-publisher.js';
import type { ReleaseStore } from '../store/types.js';
import type { ReleaseAdmin, TrustAdmin } from './types.js';

export function localReleases(deps: {
  releases: ReleaseStore;
  publisher: ReleasePublisher;
  /** Records a security event where the fleet's records are. */
  record: (e: AuditEvent) => Promise<void>;
  actor: string;
  now: () => number;
}): {
  releases: ReleaseAdmin;
  trust: TrustAdmin;
} {
  const { releases, publisher, record, actor } = deps;
  return {
    releases: {
      async publish(source) {
        const input = 'path' in source ? createReadStream(source.path) : source.stream;
        const out = await publisher.publish(input, actor);
        if (out.created) {
          const r = out.release;
          await record({
            event: 'release.published',
            actor,
            detail: { id: r.id, hardware: r.hardware, version: r.version, sequence: r.sequence },
          });
        }
        return out;
      },
      list: () => releases.list(),
      get: (id) => releases.get(id),
    },
    trust: {
      async set(document) {
        const out = await releases.installTrust(document, actor, deps.now());
        if (out.installed) {
          await record({
            event: 'trust.installed',
            actor,
            detail: { version: out.trust.version, sha256: out.trust.sha256 },
          });
        }
        return out;
      },
      list: () => releases.listTrust(),
    },
  };
}
