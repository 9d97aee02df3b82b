// /api/v1/releases and /api/v1/trust: firmware releases (a bundle streamed in, verified against the installed trust
// chain before it is kept) and the fleet's trust documents. Everything here needs releases:write and the whole fleet.
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { MAX_TRUST_DOCUMENT_BYTES } from '../../fleet/releases.js';
import { EdgewardError } from '../../../../shared/src/index.js';
import { API_PREFIX } from '../app.js';
import { ApiError } from '../errors.js';
import { isoTime, object, responses } from '../schemas.js';
import { adminOf, type RouteDeps } from './context.js';

const hex64 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const keyIds = { type: 'array', items: { type: 'string', maxLength: 64 } } as const;

const release = object({
  id: { ...hex64, description: 'SHA-256 of the bundle file' },
  hardware: { type: 'string' },
  version: { type: 'string' },
  sequence: { type: 'integer' },
  size: { type: 'integer', description: 'Bytes of the bundle file' },
  payloadSize: { type: 'integer' },
  payloadSha256: hex64,
  signers: { ...keyIds, description: 'Release keys whose signatures verified' },
  expiresAt: isoTime,
  publishedAt: isoTime,
  publishedBy: { type: ['string', 'null'] },
});

const trustDocument = object({
  version: { type: 'integer' },
  sha256: hex64,
  installedAt: isoTime,
  installedBy: { type: ['string', 'null'] },
  expires: isoTime,
  rootThreshold: { type: 'integer' },
  releaseThreshold: { type: 'integer' },
  releaseKeys: keyIds,
});

const idOrPrefix = {
  type: 'string',
  pattern: '^[0-9a-fA-F]{8,64}$',
  description: 'Release id, or a unique prefix of at least 8 hex characters',
} as const;

/** Reads a small raw body whole, refusing it past `max` bytes. */
async function readSmall(body: unknown, max: number): Promise<Uint8Array> {
  if (!body || typeof (body as Readable)[Symbol.asyncIterator] !== 'function') {
    throw new ApiError(400, 'API_INVALID_REQUEST', 'the request has no body');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new ApiError(413, 'API_BODY_TOO_LARGE', `the body is larger than ${max} bytes`);
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

export function releaseRoutes(app: FastifyInstance, deps: RouteDeps, limits: { maxBundleBytes: number }): void {
  app.post(
    `${API_PREFIX}/releases`,
    {
      config: {
        scope: 'releases:write',
        fleetWide: true,
        action: 'release.publish',
        rawBody: ['application/octet-stream'],
        rawBodyLimit: limits.maxBundleBytes,
      },
      schema: {
        summary: 'Publish a signed firmware bundle (the raw .ewfw file, application/octet-stream)',
        description:
          'The bundle is streamed to disk and verified against the installed trust chain; a bundle that does not ' +
          'verify is refused with 422 and the verifier’s FW_* code, and nothing is kept. The same bundle again ' +
          'answers 200 with the existing release; another bundle with the same hardware and sequence is a 409.',
        tags: ['releases'],
        response: responses(
          {
            200: object({ release, created: { type: 'boolean' } }),
            201: object({ release, created: { type: 'boolean' } }),
          },
          [409, 413, 415, 422],
        ),
      },
    },
    async (req, reply) => {
      if (!req.body) throw new ApiError(400, 'API_INVALID_REQUEST', 'send the bundle as the request body');
      const length = Number(req.headers['content-length']);
      const out = await adminOf(deps, req)
        .releases.publish({
          stream: req.body as Readable,
          ...(Number.isFinite(length) ? { length } : {}),
        })
        .catch((err: unknown) => {
          // The client went away mid-upload (nothing was kept): its failure, not the server's.
          if (!req.raw.complete && !(err instanceof EdgewardError)) {
            throw new ApiError(400, 'API_INVALID_REQUEST', 'the upload ended before the whole bundle arrived');
          }
          throw err;
        });
      req.auditObject = { type: 'release', id: out.release.id };
      return reply.code(out.created ? 201 : 200).send(out);
    },
  );

  app.get(
    `${API_PREFIX}/releases`,
    {
      config: { scope: 'releases:write', fleetWide: true },
      schema: {
        summary: 'Published releases, newest first',
        tags: ['releases'],
        response: responses({ 200: object({ items: { type: 'array', items: release } }) }),
      },
    },
    async (req) => ({ items: await adminOf(deps, req).releases.list() }),
  );

  app.get(
    `${API_PREFIX}/releases/:id`,
    {
      config: { scope: 'releases:write', fleetWide: true },
      schema: {
        summary: 'One release, by id or a unique id prefix',
        tags: ['releases'],
        params: object({ id: idOrPrefix }),
        response: responses({ 200: release }, [404]),
      },
    },
    async (req) => adminOf(deps, req).releases.get((req.params as { id: string }).id),
  );

  app.put(
    `${API_PREFIX}/trust`,
    {
      config: {
        scope: 'releases:write',
        fleetWide: true,
        action: 'trust.set',
        rawBody: ['application/cbor', 'application/octet-stream'],
        rawBodyLimit: MAX_TRUST_DOCUMENT_BYTES,
      },
      schema: {
        summary: "Install the fleet's firmware trust document (the raw trust.cbor)",
        description:
          'The first document installed is the anchor the server verifies releases against: it must be signed by ' +
          'its own root keys, and installing it is a step the fleet trusts its admins with. Every later one must ' +
          'chain from the newest installed (one version up, signed by both root key sets), else 422 with the FW_* ' +
          'code. The same document again answers 200.',
        tags: ['releases'],
        response: responses(
          {
            200: object({ trust: trustDocument, installed: { type: 'boolean' } }),
            201: object({ trust: trustDocument, installed: { type: 'boolean' } }),
          },
          [413, 415, 422],
        ),
      },
    },
    async (req, reply) => {
      const document = await readSmall(req.body, MAX_TRUST_DOCUMENT_BYTES);
      const out = await adminOf(deps, req).trust.set(document);
      req.auditObject = { type: 'trust', id: String(out.trust.version) };
      return reply.code(out.installed ? 201 : 200).send(out);
    },
  );

  app.get(
    `${API_PREFIX}/trust`,
    {
      config: { scope: 'releases:write', fleetWide: true },
      schema: {
        summary: 'The installed trust documents, oldest first',
        tags: ['releases'],
        response: responses({ 200: object({ items: { type: 'array', items: trustDocument } }) }),
      },
    },
    async (req) => ({ items: await adminOf(deps, req).trust.list() }),
  );
}
