// Releases and trust documents on the server's database and data folder (fleet/releases.ts), as the caller:
// each publication and trust change goes to the security event log with the actor.
import { createReadStream } from 'node:fs';
import type { AuditLog } from '../db/audit.js';
import type { ReleaseStore } from '../fleet/releases.js';
import type { ReleaseAdmin, TrustAdmin } from './types.js';

export function localReleases(deps: { store: ReleaseStore; events: AuditLog; actor: string }): {
  releases: ReleaseAdmin;
  trust: TrustAdmin;
} {
  const { store, events, actor } = deps;
  return {
    releases: {
      async publish(source) {
        const input = 'path' in source ? createReadStream(source.path) : source.stream;
        const out = await store.publish(input, actor);
        if (out.created) {
          const r = out.release;
          events.record({
            event: 'release.published',
            actor,
            detail: { id: r.id, hardware: r.hardware, version: r.version, sequence: r.sequence },
          });
        }
        return out;
      },
      list: async () => store.list(),
      get: async (id) => store.get(id),
    },
    trust: {
      async set(document) {
        const out = store.installTrust(document, actor);
        if (out.installed) {
          events.record({
            event: 'trust.installed',
            actor,
            detail: { version: out.trust.version, sha256: out.trust.sha256 },
          });
        }
        return out;
      },
      list: async () => store.listTrust(),
    },
  };
}
