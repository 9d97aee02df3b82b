// Firmware releases and the trust documents they verify against: their records as both store engines read them,
// the rule for installing a trust document, the SQLite repository (the server's database), and the bundle files of
// the data folder's releases/ (content addressed: releases/{id}.ewfw, its SHA-256 is the id). Publishing is
// fleet/release-publisher.ts.
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
import { pipeline } from 'node:stream/promises';
import {
  resolveTrustChain,
  updateTrust,
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

/** A private temporary file in the releases folder (an upload, or a bundle being written from the store). */
export function incomingFile(releasesDir: string): string {
  ensurePrivateDir(releasesDir);
  return join(releasesDir, `.incoming-${randomBytes(8).toString('hex')}`);
}

export function syncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * Writes the bytes of release `id` to releases/{id}.ewfw: into a private temporary file while they are hashed, and
 * only when their SHA-256 is the id renamed into place (file and folder synced); otherwise nothing is left behind
 * (FLEET_STORE_CONSTRAINT). Returns the file. A reader never sees a partial bundle under the release's name.
 */
export async function materialiseBundle(
  chunks: AsyncIterable<Uint8Array>,
  releasesDir: string,
  id: string,
): Promise<string> {
  const file = releaseFile(releasesDir, id);
  const tmp = incomingFile(releasesDir);
  try {
    const hash = createHash('sha256');
    await pipeline(
      chunks,
      async function* (source: AsyncIterable<Uint8Array>) {
        for await (const chunk of source) {
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(tmp, { flags: 'wx', mode: 0o600 }),
    );
    const sha256 = hash.digest('hex');
    if (sha256 !== id) {
      throw new FleetError('FLEET_STORE_CONSTRAINT', `the bytes of release ${id.slice(0, 12)} hash to ${sha256}`);
    }
    syncFile(tmp);
    renameSync(tmp, file);
    syncFolder(releasesDir);
    return file;
  } finally {
    removeQuietly(tmp);
  }
}

/** A trust_documents row as both store engines read it. */
export interface TrustRow {
  readonly version: number;
  readonly document: Uint8Array;
  readonly sha256: string;
  readonly installed_at: number;
  readonly installed_by: string | null;
}

export const trustViews = (rows: readonly TrustRow[]): TrustView[] =>
  rows.map((r) => trustView(r, verifyTrustDocument(new Uint8Array(r.document), { allowExpired: true })));

/**
 * What installing `document` over the installed chain (`rows`, oldest first) does. The first is taken as the anchor
 * when it verifies on its own (its own root keys signed it, unexpired): whoever installs it decides what the fleet
 * trusts. Each later one must chain from the newest installed (one version up, signed by both root sets); a
 * verifier error otherwise. The same document again is not an error: `row` is absent then.
 */
export function trustToInstall(
  rows: readonly TrustRow[],
  document: Uint8Array,
  by: string | null,
  at: number,
): { trust: TrustView; row?: TrustRow } {
  const sha256 = createHash('sha256').update(document).digest('hex');
  const existing = rows.find((r) => r.sha256 === sha256);
  if (existing) return { trust: trustView(existing, verifyTrustDocument(document, { allowExpired: true })) };
  // The installed chain, resolved (expired links allowed: whether the newest is current is the verifier's call).
  const state =
    rows.length === 0
      ? verifyTrustDocument(document, { now: at })
      : updateTrust(
          resolveTrustChain(
            rows.map((r) => new Uint8Array(r.document)),
            { now: at, allowExpired: true },
          ),
          document,
          { now: at },
        );
  const row: TrustRow = { version: state.version, document, sha256, installed_at: at, installed_by: by };
  return { trust: trustView(row, state), row };
}

/** Checks an id or id prefix a caller gave; returns it in lower case. */
export function releaseKey(idOrPrefix: string): string {
  const key = idOrPrefix.toLowerCase();
  if (!/^[0-9a-f]+$/.test(key) || key.length < MIN_ID_PREFIX || key.length > 64) {
    throw new FleetError(
      'FLEET_RELEASE_UNKNOWN',
      `a release id is ${MIN_ID_PREFIX} to 64 hex characters (a prefix of its SHA-256)`,
    );
  }
  return key;
}

export type ReleaseStore = ReturnType<typeof createReleaseStore>;

/** Releases and trust documents in the server's SQLite database (the store's SQLite engine wraps it). */
export function createReleaseStore(opts: { readonly db: Db; readonly now?: () => number }) {
  const { db } = opts;
  const now = opts.now ?? Date.now;
  const trustRows = db.prepare(
    'SELECT version, document, sha256, installed_at, installed_by FROM trust_documents ORDER BY version',
  );
  const insertTrust = db.prepare(
    'INSERT INTO trust_documents (version, document, sha256, installed_at, installed_by) VALUES (?, ?, ?, ?, ?)',
  );
  const byId = db.prepare('SELECT * FROM releases WHERE id = ?');
  const byPrefix = db.prepare('SELECT * FROM releases WHERE id >= ? AND id < ? ORDER BY id LIMIT 2');
  const all = db.prepare('SELECT * FROM releases ORDER BY published_at DESC, id');

  return {
    trustDocuments: () => installedTrustDocuments(db),

    listTrust: (): TrustView[] => trustViews(trustRows.all() as TrustRow[]),

    /** Installs a trust document (trustToInstall). */
    installTrust(document: Uint8Array, by: string | null, at = now()): { trust: TrustView; installed: boolean } {
      return db
        .transaction(() => {
          const out = trustToInstall(trustRows.all() as TrustRow[], document, by, at);
          const r = out.row;
          if (r) insertTrust.run(r.version, Buffer.from(r.document), r.sha256, r.installed_at, r.installed_by);
          return { trust: out.trust, installed: r !== undefined };
        })
        .immediate(); // it reads the chain before it adds to it (see registry.renew in store/sqlite-store.ts)
    },

    list(): ReleaseView[] {
      return (all.all() as ReleaseRow[]).map(releaseView);
    },

    /** By the full id or a prefix of at least 8: FLEET_RELEASE_UNKNOWN / FLEET_RELEASE_AMBIGUOUS. */
    get(idOrPrefix: string): ReleaseView {
      const key = releaseKey(idOrPrefix);
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
    },
  };
}
