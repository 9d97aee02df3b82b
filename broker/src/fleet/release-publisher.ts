// Publishing a firmware release onto the fleet store (either engine). A bundle is streamed to a private temporary
// file in the data folder's releases/ while it is hashed (its SHA-256 is the release id), verified with the
// firmware verifier against the trust chain installed in the store, and only then renamed to releases/{id}.ewfw
// (file and folder synced) and recorded with its bytes: a refused bundle leaves nothing behind, and memory never
// holds a whole bundle. On a cluster the file stays as this node's copy for its downloads.
import { createHash } from 'node:crypto';
import { createWriteStream, renameSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { resolveTrustChain, verifyBundle } from '../../../firmware-tools/src/index.js';
import { FleetError } from '../errors.js';
import type { ReleaseStore } from '../store/types.js';
import {
  incomingFile,
  type PublishResult,
  type ReleaseView,
  releaseFile,
  removeQuietly,
  syncFile,
  syncFolder,
} from './releases.js';

export interface ReleasePublisherOptions {
  readonly releases: ReleaseStore;
  /** DATA/releases (fleetPaths(dir).releases). */
  readonly dir: string;
  /** Largest bundle accepted (config releases.maxBundleBytes). */
  readonly maxBundleBytes: number;
  readonly now?: () => number;
}

export type ReleasePublisher = ReturnType<typeof createReleasePublisher>;

export function createReleasePublisher(opts: ReleasePublisherOptions) {
  const { releases } = opts;
  const now = opts.now ?? Date.now;

  /** The release with this full id, if it is recorded. */
  const recorded = (id: string): Promise<ReleaseView | undefined> =>
    releases.get(id).catch((err: FleetError) => {
      if (err.code === 'FLEET_RELEASE_UNKNOWN') return undefined;
      throw err;
    });

  return {
    /**
     * Publishes the bundle read from `source`: refused with the verifier's BundleError (nothing kept) unless it
     * verifies against the installed trust chain now. Publishing the same bundle again is not an error.
     */
    async publish(source: Readable | AsyncIterable<Uint8Array>, by: string | null): Promise<PublishResult> {
      const documents = await releases.trustDocuments();
      if (documents.length === 0) {
        // Read nothing more: the caller closes the connection.
        throw new FleetError(
          'FLEET_TRUST_MISSING',
          'no firmware trust document is installed; install one with `fleet trust set FILE` first',
        );
      }
      if (!opts.dir) throw new Error('this publisher was made without a releases folder');
      const tmp = incomingFile(opts.dir);
      let kept = false;
      try {
        const hash = createHash('sha256');
        let size = 0;
        const max = opts.maxBundleBytes;
        await pipeline(
          source,
          async function* (chunks: AsyncIterable<Uint8Array>) {
            for await (const chunk of chunks) {
              size += chunk.length;
              if (size > max) {
                throw new FleetError('FLEET_RELEASE_TOO_LARGE', `the bundle is larger than ${max} bytes`, {
                  details: { maxBundleBytes: max },
                });
              }
              hash.update(chunk);
              yield chunk;
            }
          },
          createWriteStream(tmp, { flags: 'wx', mode: 0o600 }),
        );
        const id = hash.digest('hex');
        // The device's own checks, minus the device: trust chain (the newest document current), signatures before
        // the manifest is believed, then the whole payload against its digest. Reads are asynchronous: hashing a
        // large bundle must not stall the MQTT listener sharing this event loop (verifyBundleFile reads blocking).
        const at = now();
        const trust = resolveTrustChain(documents, { now: at });
        const bundle = await verifyBundle(tmp, { trust, now: at });
        const existing = await recorded(id);
        if (existing) return { release: existing, created: false };
        const m = bundle.manifest;
        const clash = (await releases.list()).find((r) => r.hardware === m.hardware && r.sequence === m.sequence);
        if (clash) {
          throw new FleetError(
            'FLEET_RELEASE_CONFLICT',
            `release ${clash.id.slice(0, 12)} already has sequence ${m.sequence} for hardware ${m.hardware}`,
            { details: { release: clash.id, hardware: m.hardware, sequence: m.sequence } },
          );
        }
        syncFile(tmp);
        const file = releaseFile(opts.dir, id);
        renameSync(tmp, file);
        kept = true;
        syncFolder(opts.dir);
        try {
          await releases.record(
            {
              id,
              hardware: m.hardware,
              version: m.version,
              sequence: m.sequence,
              size: statSync(file).size,
              payloadSize: m.size,
              payloadSha256: Buffer.from(m.sha256).toString('hex'),
              manifest: bundle.manifestBytes,
              signers: bundle.signers,
              expiresAt: m.expires * 1000,
              publishedAt: at,
              publishedBy: by,
            },
            file,
          );
        } catch (err) {
          // Another publisher (another node) recorded the same bundle meanwhile (the file is the same), or took the
          // sequence: then this file is no release's.
          const again = await recorded(id);
          if (again) return { release: again, created: false };
          removeQuietly(file);
          if ((err as FleetError).code === 'FLEET_RELEASE_CONFLICT') {
            throw new FleetError(
              'FLEET_RELEASE_CONFLICT',
              `another release already has sequence ${m.sequence} for hardware ${m.hardware}`,
              { details: { hardware: m.hardware, sequence: m.sequence }, cause: err },
            );
          }
          throw err;
        }
        return { release: await releases.get(id), created: true };
      } finally {
        if (!kept) removeQuietly(tmp);
      }
    },
  };
}
