// Firmware releases and the trust documents they verify against, on the server's database and data folder.
// A bundle is streamed to a private temporary file while it is hashed (its SHA-256 is the release id), verified
// with the firmware verifier against the installed trust chain, and only then renamed to releases/{id}.ewfw (file
// and folder synced) and recorded: a refused bundle leaves nothing behind, and memory never holds a whole bundle.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createWriteStream,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  resolveTrustChain,
  updateTrust,
  verifyBundle,
  verifyTrustDocument,
  type TrustState,
} from '../../../firmware-tools/src/index.js';
import { ensurePrivateDir } from '../../../shared/src/index.js';
import type { Db } from '../db/open.js';
import { FleetError } from '../errors.js';

/** A trust document is a few KiB (root and release keys, signatures); anything much larger is not one. */
export const MAX_TRUST_DOCUMENT_BYTES = 64 * 1024;
/** The shortest id prefix `release show` accepts. */
export const MIN_ID_PREFIX = 8;
export const RELEASE_FILE_SUFFIX = '.ewfw';

export interface TrustView {
  readonly version: number;
  readonly sha256: string;
  readonly installedAt: string;
  readonly installedBy: string | null;
  /** Seconds since the epoch, from the document. */
  readonly expires: string;
  readonly rootThreshold: number;
  readonly releaseThreshold: number;
  readonly releaseKeys: string[];
}

export interface ReleaseView {
  /** SHA-256 (hex) of the bundle file. */
  readonly id: string;
  readonly hardware: string;
  readonly version: string;
  readonly sequence: number;
  /** Bytes of the whole bundle file. */
  readonly size: number;
  readonly payloadSize: number;
  readonly payloadSha256: string;
  /** Key ids of the release keys whose signatures verified at publication. */
  readonly signers: string[];
  readonly expiresAt: string;
  readonly publishedAt: string;
  readonly publishedBy: string | null;
}

export interface PublishResult {
  readonly release: ReleaseView;
  /** False when the same bundle was a release already (publishing is idempotent). */
  readonly created: boolean;
}

/** A releases row as both store engines read it. */
export interface ReleaseRow {
  id: string;
  hardware: string;
  version: string;
  sequence: number;
  size: number;
  payload_size: number;
  payload_sha256: string;
  signers: string;
  expires_at: number;
  published_at: number;
  published_by: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function releaseView(r: ReleaseRow): ReleaseView {
  return {
    id: r.id,
    hardware: r.hardware,
    version: r.version,
    sequence: r.sequence,
    size: r.size,
    payloadSize: r.payload_size,
    payloadSha256: r.payload_sha256,
    signers: JSON.parse(r.signers) as string[],
    expiresAt: iso(r.expires_at),
    publishedAt: iso(r.published_at),
    publishedBy: r.published_by,
  };
}

function trustView(
  row: { version: number; sha256: string; installed_at: number; installed_by: string | null },
  s: TrustState,
) {
  return {
    version: row.version,
    sha256: row.sha256,
    installedAt: iso(row.installed_at),
    installedBy: row.installed_by,
    expires: iso(s.expires * 1000),
    rootThreshold: s.rootThreshold,
    releaseThreshold: s.releaseThreshold,
    releaseKeys: [...s.releaseKeys.keys()],
  } satisfies TrustView;
}

/** A verified release as it is recorded (publish, or a copy between stores). */
export interface ReleaseRecord {
  readonly id: string;
  readonly hardware: string;
  readonly version: string;
  readonly sequence: number;
  readonly size: number;
  readonly payloadSize: number;
  readonly payloadSha256: string;
  readonly manifest: Uint8Array;
  readonly signers: readonly string[];
  /** ms since the epoch. */
  readonly expiresAt: number;
  readonly publishedAt: number;
  readonly publishedBy: string | null;
}

/** The columns of a release row, in the order of RELEASE_COLUMNS. */
export const RELEASE_COLUMNS =
  'id, hardware, version, sequence, size, payload_size, payload_sha256, manifest, signers, expires_at, ' +
  'published_at, published_by';
export const releaseValues = (r: ReleaseRecord): unknown[] => [
  r.id,
  r.hardware,
  r.version,
  r.sequence,
  r.size,
  r.payloadSize,
  r.payloadSha256,
  Buffer.from(r.manifest),
  JSON.stringify(r.signers),
  r.expiresAt,
  r.publishedAt,
  r.publishedBy,
];

/** Records a release whose bundle was verified (a taken id or hardware sequence throws the constraint's error). */
export function recordRelease(db: Db, r: ReleaseRecord): void {
  db.prepare(`INSERT INTO releases (${RELEASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    ...releaseValues(r),
  );
}

/** The installed trust documents, oldest first: the chain a device walks (they go into update offers). */
export function installedTrustDocuments(db: Db): Uint8Array[] {
  const rows = db.prepare('SELECT document FROM trust_documents ORDER BY version').all() as { document: Buffer }[];
  return rows.map((r) => new Uint8Array(r.document));
}

/** The path of a release's bundle in the data folder's releases/ (the id is checked: it names a file). */
export function releaseFile(releasesDir: string, id: string): string {
  if (!/^[0-9a-f]{64}$/.test(id)) throw new FleetError('FLEET_RELEASE_UNKNOWN', 'a release id is 64 hex characters');
  return join(releasesDir, `${id}${RELEASE_FILE_SUFFIX}`);
}

/** Uploads left half-written by a crash are removed when they are older than this (a live upload is younger). */
const STALE_UPLOAD_MS = 24 * 3600_000;

/** Removes the temporary files of uploads that never finished (the server was killed mid-upload). */
export function removeStaleUploads(releasesDir: string, now = Date.now()): number {
  let names: string[];
  try {
    names = readdirSync(releasesDir);
  } catch {
    return 0; // no releases yet
  }
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith('.incoming-')) continue;
    const path = join(releasesDir, name);
    try {
      if (now - statSync(path).mtimeMs < STALE_UPLOAD_MS) continue;
      unlinkSync(path);
      removed++;
    } catch {
      // gone meanwhile
    }
  }
  return removed;
}

export interface ReleaseStoreOptions {
  readonly db: Db;
  /** DATA/releases (fleetPaths(dir).releases). */
  readonly dir: string;
  /** Largest bundle accepted (config releases.maxBundleBytes). */
  readonly maxBundleBytes: number;
  readonly now?: () => number;
}

export type ReleaseStore = ReturnType<typeof createReleaseStore>;

function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

export function createReleaseStore(opts: ReleaseStoreOptions) {
  const { db } = opts;
  const now = opts.now ?? Date.now;
  const trustRows = db.prepare(
    'SELECT version, document, sha256, installed_at, installed_by FROM trust_documents ORDER BY version',
  );
  const trustBySha = db.prepare('SELECT version FROM trust_documents WHERE sha256 = ?');
  const insertTrust = db.prepare(
    'INSERT INTO trust_documents (version, document, sha256, installed_at, installed_by) VALUES (?, ?, ?, ?, ?)',
  );
  const byId = db.prepare('SELECT * FROM releases WHERE id = ?');
  const byPrefix = db.prepare('SELECT * FROM releases WHERE id >= ? AND id < ? ORDER BY id LIMIT 2');
  const bySequence = db.prepare('SELECT id FROM releases WHERE hardware = ? AND sequence = ?');
  const all = db.prepare('SELECT * FROM releases ORDER BY published_at DESC, id');

  type TrustRow = { version: number; document: Buffer; sha256: string; installed_at: number; installed_by: null };

  /** The installed chain, resolved (expired links allowed: whether the newest is current is the verifier's call). */
  const chainState = (rows: TrustRow[]): TrustState =>
    resolveTrustChain(
      rows.map((r) => new Uint8Array(r.document)),
      { now: now(), allowExpired: true },
    );

  function getRelease(idOrPrefix: string): ReleaseView {
    const key = idOrPrefix.toLowerCase();
    if (!/^[0-9a-f]+$/.test(key) || key.length < MIN_ID_PREFIX || key.length > 64) {
      throw new FleetError(
        'FLEET_RELEASE_UNKNOWN',
        `a release id is ${MIN_ID_PREFIX} to 64 hex characters (a prefix of its SHA-256)`,
      );
    }
    if (key.length === 64) {
      const row = byId.get(key) as ReleaseRow | undefined;
      if (!row) throw new FleetError('FLEET_RELEASE_UNKNOWN', `no release ${key}`);
      return releaseView(row);
    }
    const rows = byPrefix.all(key, `${key}g`) as ReleaseRow[];
    if (rows.length === 0) throw new FleetError('FLEET_RELEASE_UNKNOWN', `no release id starts with ${key}`);
    if (rows.length > 1) {
      throw new FleetError('FLEET_RELEASE_AMBIGUOUS', `more than one release id starts with ${key}; give more of it`);
    }
    return releaseView(rows[0]!);
  }

  return {
    trustDocuments: () => installedTrustDocuments(db),

    listTrust(): TrustView[] {
      const rows = trustRows.all() as TrustRow[];
      return rows.map((r) => trustView(r, verifyTrustDocument(new Uint8Array(r.document), { allowExpired: true })));
    },

    /**
     * Installs a trust document. The first is taken as the anchor when it verifies on its own (its own root keys
     * signed it, unexpired): whoever installs it decides what the fleet trusts. Each later one must chain from the
     * newest installed (one version up, signed by both root sets). The same document again is not an error.
     */
    installTrust(document: Uint8Array, by: string | null): { trust: TrustView; installed: boolean } {
      const sha256 = createHash('sha256').update(document).digest('hex');
      return db
        .transaction(() => {
          const rows = trustRows.all() as TrustRow[];
          const existing = trustBySha.get(sha256) as { version: number } | undefined;
          if (existing) {
            const row = rows.find((r) => r.version === existing.version)!;
            return { trust: trustView(row, verifyTrustDocument(document, { allowExpired: true })), installed: false };
          }
          const state =
            rows.length === 0
              ? verifyTrustDocument(document, { now: now() })
              : updateTrust(chainState(rows), document, { now: now() });
          const at = now();
          insertTrust.run(state.version, Buffer.from(document), sha256, at, by);
          const row = { version: state.version, sha256, installed_at: at, installed_by: by };
          return { trust: trustView(row, state), installed: true };
        })
        .immediate(); // it reads the chain before it adds to it (see registry.renew in store/sqlite-store.ts)
    },

    list(): ReleaseView[] {
      return (all.all() as ReleaseRow[]).map(releaseView);
    },

    get: getRelease,

    /** The path of the bundle of a recorded release (FLEET_RELEASE_UNKNOWN for any other id). */
    file(id: string): string {
      const row = byId.get(id) as ReleaseRow | undefined;
      if (!row) throw new FleetError('FLEET_RELEASE_UNKNOWN', `no release ${id}`);
      return releaseFile(opts.dir, row.id);
    },

    /**
     * Publishes the bundle read from `source`: refused with the verifier's BundleError (nothing kept) unless it
     * verifies against the installed trust chain now.
     */
    async publish(source: Readable | AsyncIterable<Uint8Array>, by: string | null): Promise<PublishResult> {
      const documents = installedTrustDocuments(db);
      if (documents.length === 0) {
        // Read nothing more: the caller closes the connection.
        throw new FleetError(
          'FLEET_TRUST_MISSING',
          'no firmware trust document is installed; install one with `fleet trust set FILE` first',
        );
      }
      if (!opts.dir) throw new Error('this release store was made without a releases folder');
      ensurePrivateDir(opts.dir);
      const tmp = join(opts.dir, `.incoming-${randomBytes(8).toString('hex')}`);
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
        const existing = byId.get(id) as ReleaseRow | undefined;
        if (existing) return { release: releaseView(existing), created: false };
        const m = bundle.manifest;
        const clash = bySequence.get(m.hardware, m.sequence) as { id: string } | undefined;
        if (clash) {
          throw new FleetError(
            'FLEET_RELEASE_CONFLICT',
            `release ${clash.id.slice(0, 12)} already has sequence ${m.sequence} for hardware ${m.hardware}`,
            { details: { release: clash.id, hardware: m.hardware, sequence: m.sequence } },
          );
        }
        const fd = openSync(tmp, 'r+');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        const file = releaseFile(opts.dir, id);
        renameSync(tmp, file);
        kept = true;
        syncFolder(opts.dir);
        try {
          recordRelease(db, {
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
          });
        } catch (err) {
          // Another publisher recorded the same bundle meanwhile (the file is the same), or took the sequence.
          const again = byId.get(id) as ReleaseRow | undefined;
          if (again) return { release: releaseView(again), created: false };
          removeQuietly(file);
          if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
            throw new FleetError(
              'FLEET_RELEASE_CONFLICT',
              `another release already has sequence ${m.sequence} for hardware ${m.hardware}`,
              { details: { hardware: m.hardware, sequence: m.sequence } },
            );
          }
          throw err;
        }
        return { release: releaseView(byId.get(id) as ReleaseRow), created: true };
      } finally {
        if (!kept) removeQuietly(tmp);
      }
    },
  };
}
