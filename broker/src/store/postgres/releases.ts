// Firmware releases, their bundles and the trust documents on PostgreSQL. A bundle is stored in 1 MiB rows of
// release_chunks in its release row's transaction (the schema refuses a release without all its bytes at commit)
// and read back a row at a time: a 1 GiB bundle is never held in memory. Trust documents are installed one at a
// time across the cluster (a table lock), each checked against the chain as it is then (fleet/releases.ts).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { FleetError } from '../../errors.js';
import {
  RELEASE_COLUMNS,
  type ReleaseRow,
  releaseKey,
  releaseValues,
  releaseView,
  type TrustRow,
  trustToInstall,
  trustViews,
} from '../../fleet/releases.js';
import type { ReleaseStore } from '../types.js';
import type { PgPool } from './pool.js';

/** Bytes per release_chunks row (the schema's CHECK allows at most this). */
export const CHUNK_BYTES = 1 << 20;

/** `source` cut into chunks of exactly `size` bytes (the last one shorter). */
export async function* fixedChunks(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let n = 0;
  for await (const piece of source) {
    let rest = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (n + rest.length >= size) {
      const take = size - n;
      yield Buffer.concat([...held, rest.subarray(0, take)]);
      rest = rest.subarray(take);
      held = [];
      n = 0;
    }
    if (rest.length > 0) {
      held.push(rest);
      n += rest.length;
    }
  }
  if (n > 0) yield Buffer.concat(held);
}

const TRUST_COLUMNS = 'version, document, sha256, installed_at, installed_by';

export function createPgReleaseStore(pool: PgPool): ReleaseStore {
  const rows = async <R extends object>(where: string, sql: string, params: unknown[] = []) =>
    (await pool.query<R & Record<string, unknown>>(where, sql, params)).rows as R[];

  return {
    async record(r, bundle) {
      try {
        await pool.transaction('releases.record', async (c) => {
          await c.query(
            `INSERT INTO releases (${RELEASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
            releaseValues(r),
          );
          const hash = createHash('sha256');
          let n = 0;
          let size = 0;
          for await (const chunk of fixedChunks(
            createReadStream(bundle, { highWaterMark: CHUNK_BYTES }),
            CHUNK_BYTES,
          )) {
            hash.update(chunk);
            size += chunk.length;
            await c.query('INSERT INTO release_chunks (release_id, n, data) VALUES ($1, $2, $3)', [r.id, n++, chunk]);
          }
          const sha256 = hash.digest('hex');
          if (sha256 !== r.id || size !== r.size) {
            throw new FleetError(
              'FLEET_STORE_CONSTRAINT',
              `the bundle ${bundle} (${size} bytes, SHA-256 ${sha256}) is not release ${r.id} (${r.size} bytes)`,
            );
          }
        });
      } catch (err) {
        const unique = (err as FleetError).cause as { code?: string } | undefined;
        if (unique?.code !== '23505') throw err;
        throw new FleetError(
          'FLEET_RELEASE_CONFLICT',
          `a release with id ${r.id.slice(0, 12)} or sequence ${r.sequence} for ${r.hardware} exists already`,
          { cause: err },
        );
      }
    },
    async list() {
      return (
        await rows<ReleaseRow>('releases.list', 'SELECT * FROM releases ORDER BY published_at DESC, id COLLATE "C"')
      ).map(releaseView);
    },
    async get(idOrPrefix) {
      const key = releaseKey(idOrPrefix);
      const r = await rows<ReleaseRow>(
        'releases.get',
        'SELECT * FROM releases WHERE id COLLATE "C" >= $1 AND id COLLATE "C" < $2 ORDER BY id COLLATE "C" LIMIT 2',
        [key, `${key}g`],
      );
      if (r.length === 0) throw new FleetError('FLEET_RELEASE_UNKNOWN', `no release id starts with ${key}`);
      if (r.length > 1 && key.length < 64) {
        throw new FleetError('FLEET_RELEASE_AMBIGUOUS', `more than one release id starts with ${key}; give more of it`);
      }
      return releaseView(r[0]!);
    },
    async *bundle(id) {
      const known = await rows('releases.bundle', 'SELECT 1 FROM releases WHERE id = $1', [id]);
      if (known.length === 0) throw new FleetError('FLEET_RELEASE_UNKNOWN', `no release ${id}`);
      // A row a query: the rows of a release never change, so reading them one after the other is consistent.
      for (let n = 0; ; n++) {
        const [chunk] = await rows<{ data: Buffer }>(
          'releases.bundle',
          'SELECT data FROM release_chunks WHERE release_id = $1 AND n = $2',
          [id, n],
        );
        if (!chunk) return;
        yield chunk.data;
      }
    },
    async trustDocuments() {
      const r = await rows<{ document: Buffer }>(
        'releases.trustDocuments',
        'SELECT document FROM trust_documents ORDER BY version',
      );
      return r.map((x) => new Uint8Array(x.document));
    },
    async listTrust() {
      return trustViews(
        await rows<TrustRow>('releases.listTrust', `SELECT ${TRUST_COLUMNS} FROM trust_documents ORDER BY version`),
      );
    },
    installTrust(document, by, now = Date.now()) {
      return pool.transaction('releases.installTrust', async (c) => {
        // Installers on every node one at a time: each new document must chain from the newest installed.
        await c.query('LOCK TABLE trust_documents IN SHARE ROW EXCLUSIVE MODE');
        const installed = await c.query<TrustRow>(`SELECT ${TRUST_COLUMNS} FROM trust_documents ORDER BY version`);
        const out = trustToInstall(installed.rows, document, by, now);
        const t = out.row;
        if (t) {
          await c.query(`INSERT INTO trust_documents (${TRUST_COLUMNS}) VALUES ($1, $2, $3, $4, $5)`, [
            t.version,
            Buffer.from(t.document),
            t.sha256,
            t.installed_at,
            t.installed_by,
          ]);
        }
        return { trust: out.trust, installed: t !== undefined };
      });
    },
  };
}
