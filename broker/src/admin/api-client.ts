// A client of the operator API: HTTPS to the fleet server (its certificate must chain to the fleet CA), a token
// obtained with a proof of possession of the operator credential and renewed before it ends (or given in
// EDGEWARD_TOKEN), JSON in and out, and every problem+json answer turned into an error carrying the server's code.
import { Agent, request } from 'node:https';
import { EdgewardError, keyId, parsePrivateKeyPem, UsageError } from '../../../shared/src/index.js';
import { fleetIdOf } from '../api/fleet-id.js';
import { FleetError } from '../errors.js';
import { createProof, type TokenRequest } from '../api/proof.js';
import { operatorSigner } from '../api/token-signer.js';
import { isPkcs11Uri } from '../../../shared/src/pkcs11/index.js';

export interface ApiClientOptions {
  /** https://host:port of the fleet server. */
  readonly server: string;
  /** The fleet CA (PEM): the server's certificate must chain to it; it also names the fleet in proofs. */
  readonly ca: string;
  /** Where `ca` was read from, for the error when it is not a certificate (`--ca FILE`). */
  readonly caFile?: string;
  /** The operator credential (Ed25519 private key, PEM); or a ready token. */
  readonly credential?: string;
  readonly token?: string;
  /** What a token obtained with the credential asks for. */
  readonly tokenRequest?: TokenRequest;
  readonly timeoutMs?: number;
  /**
   * Send a request refused for the rate limit (429: refused before the server acted on it) again after its
   * Retry-After, when that is within a minute (the CLI: `fleet device add --bulk` outruns the per-operator limit).
   */
  readonly retryRateLimited?: boolean;
}

export interface IssuedTokenAnswer {
  readonly token: string;
  readonly expiresAt: string;
  readonly scopes: string[];
  readonly devices: string[] | null;
  readonly operator: string;
  readonly role: string;
}

/** An error answer of the API, with the server's code (docs/errors.md) and status. */
export class ApiRequestError extends EdgewardError {
  readonly status: number;
  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { details: { status, ...details } });
    this.status = status;
  }
}

export type ApiClient = ReturnType<typeof createApiClient>;

/** A request body that is not JSON: its media type, its bytes or a stream of them (made anew per attempt). */
export interface RawBody {
  readonly type: string;
  readonly data: () => Uint8Array | NodeJS.ReadableStream;
  readonly length?: number;
}

/**
 * How long an issued token lives: exp − iat of its claims, both on the server's clock, so this machine's clock
 * does not need to agree with the server's; the time left by expiresAt on this clock if the claims cannot be read.
 */
function lifetimeMs(t: IssuedTokenAnswer): number {
  try {
    const claims = JSON.parse(Buffer.from(t.token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      iat?: unknown;
      exp?: unknown;
    };
    if (typeof claims.iat === 'number' && typeof claims.exp === 'number' && claims.exp > claims.iat) {
      return (claims.exp - claims.iat) * 1000;
    }
  } catch {
    // Not a JWT we can read: fall through.
  }
  return Math.max(0, Date.parse(t.expiresAt) - Date.now());
}

/** A rate-limited request is sent again at most this many times, when the server asks to wait at most this long. */
const MAX_RETRIES = 3;
const MAX_RETRY_AFTER_S = 60;
/**
 * A token obtained with the credential is renewed when it has less than this left, or half its life when that is
 * shorter: a long task (a simulator run, a bulk registration) outlives the 15 minutes a token lives.
 */
const RENEW_BEFORE_MS = 60_000;

export function createApiClient(opts: ApiClientOptions) {
  const base = new URL(opts.server);
  if (base.protocol !== 'https:') throw new UsageError(`--server must be an https:// URL, got ${opts.server}`);
  // The fleet's name in every proof of possession, from its CA: read once, and a file that is not a certificate is
  // refused here, before any request.
  let audience: string;
  try {
    audience = fleetIdOf(opts.ca);
  } catch (err) {
    const what = opts.caFile ? `--ca ${opts.caFile}` : 'the fleet CA';
    throw new FleetError(
      'FLEET_PKI_INVALID',
      `${what} is not a PEM certificate (give the fleet CA, pki/ca.crt in the server's data folder): ` +
        (err as Error).message,
      { cause: err },
    );
  }
  const agent = new Agent({ ca: opts.ca, keepAlive: true, maxSockets: 4 });
  /** The token in use; a given one is used as it is, one obtained with the credential is renewed before it ends. */
  let current: { token: string; renewAt: number } | undefined = opts.token
    ? { token: opts.token, renewAt: Number.POSITIVE_INFINITY }
    : undefined;
  let obtaining: Promise<string> | undefined;

  /**
   * One request; `auth` is the token to send, if any. A request on a pooled connection that the server closed
   * (idle too long) just as it was reused fails with ECONNRESET before the server read it: it is sent once more on
   * a fresh connection (Node's documented keep-alive race), unless its body was a stream.
   */
  function send(
    method: string,
    path: string,
    body: unknown,
    auth: string | undefined,
    raw?: RawBody,
    again = false,
  ): Promise<{ status: number; body: unknown; retryAfter?: number }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const rawData = raw?.data();
    const rawHeaders = raw
      ? {
          'content-type': raw.type,
          ...(raw.length !== undefined ? { 'content-length': raw.length } : {}),
        }
      : {};
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, base),
        {
          method,
          // An upload gets a connection of its own: a pooled one the server is closing (idle too long) would fail
          // it half-sent, and a stream cannot be sent again.
          ...(raw ? { agent: false as const, ca: opts.ca } : { agent }),
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
            ...rawHeaders,
            ...(auth ? { authorization: `Bearer ${auth}` } : {}),
          },
          timeout: opts.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const type = res.headers['content-type'] ?? '';
            let parsed: unknown = text;
            if (type.includes('json') && text) {
              try {
                parsed = JSON.parse(text);
              } catch {
                return reject(
                  new EdgewardError('API_SERVER_ERROR', `the server sent malformed JSON (${res.statusCode})`),
                );
              }
            }
            const retryAfter = Number(res.headers['retry-after']);
            resolve({
              status: res.statusCode ?? 0,
              body: parsed,
              ...(Number.isFinite(retryAfter) ? { retryAfter } : {}),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from ${base.origin} within the timeout`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (!again && raw === undefined && req.reusedSocket && err.code === 'ECONNRESET') {
          return resolve(send(method, path, body, auth, raw, true));
        }
        reject(
          new EdgewardError(
            'API_UNAVAILABLE',
            `cannot reach the fleet server at ${base.origin}: ${err.code ?? err.message}`,
            { cause: err },
          ),
        );
      });
      if (rawData === undefined) return req.end(payload);
      if (rawData instanceof Uint8Array) return req.end(rawData);
      // Streamed with backpressure; a source that fails ends the request with its error.
      rawData.on('error', (err) => req.destroy(err));
      rawData.pipe(req);
    });
  }

  const failure = (status: number, body: unknown): ApiRequestError => {
    const p = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const code = typeof p.code === 'string' ? p.code : 'API_SERVER_ERROR';
    const detail = typeof p.detail === 'string' ? p.detail : `the server answered ${status}`;
    const list = Array.isArray(p.errors) ? (p.errors as { path?: string; message?: string }[]) : [];
    const errors = list.map((e) => `\n  - ${e.path ?? ''}: ${e.message ?? ''}`).join('');
    return new ApiRequestError(
      status,
      code,
      `${detail}${errors ? `:${errors}` : ''}`,
      typeof p.reason === 'string' ? { reason: p.reason } : {},
    );
  };

  /** A token from the credential: a proof of possession exchanged at POST /api/v1/auth/token. */
  async function obtainToken(request: TokenRequest | undefined = opts.tokenRequest): Promise<IssuedTokenAnswer> {
    if (!opts.credential) {
      throw new UsageError('give --credential FILE (or a token in EDGEWARD_TOKEN) to use --server');
    }
    // A PEM credential signs through jose; a PKCS#11 URI signs in its token.
    const signer = isPkcs11Uri(opts.credential) ? operatorSigner(opts.credential, 'the credential') : undefined;
    const publicKey = signer?.publicKey ?? parsePrivateKeyPem(opts.credential, 'the credential').publicKey;
    const assertion = await createProof({
      privateKeyPem: signer ?? opts.credential,
      kid: keyId(publicKey),
      audience,
      ...(request ? { request } : {}),
    });
    const res = await send('POST', '/api/v1/auth/token', { assertion }, undefined);
    if (res.status !== 201) throw failure(res.status, res.body);
    return res.body as IssuedTokenAnswer;
  }

  /**
   * The token to send: the given one, or one obtained with the credential on first use and again when it nears its
   * end (a 401 also renews it, see exchange). Concurrent callers share one renewal.
   */
  async function token(): Promise<string> {
    if (current && Date.now() < current.renewAt) return current.token;
    obtaining ??= (async () => {
      const askedAt = Date.now();
      const t = await obtainToken();
      const life = lifetimeMs(t);
      current = { token: t.token, renewAt: askedAt + life - Math.min(RENEW_BEFORE_MS, life / 2) };
      return t.token;
    })().finally(() => {
      obtaining = undefined;
    });
    return obtaining;
  }

  return {
    obtainToken,
    /** The current token (obtained on first use, renewed before it ends): checks the credential and the server. */
    token,
    /** Calls the API with the client's token; throws ApiRequestError on errors. */
    async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
      const res = await this.exchange(method, path, body);
      if (res.status >= 400) throw failure(res.status, res.body);
      return res.body as T;
    },
    /**
     * Sends a raw body (a firmware bundle, a trust document) instead of JSON: `data` is called for each attempt (a
     * stream can be sent once), so a 401 can still renew the token and try again.
     */
    async upload<T>(method: 'POST' | 'PUT', path: string, raw: RawBody): Promise<T> {
      let renewed = false;
      for (;;) {
        const res = await send(method, path, undefined, await token(), raw);
        if (res.status === 401 && opts.credential && !renewed) {
          renewed = true;
          current = undefined;
          continue;
        }
        if (res.status >= 400) throw failure(res.status, res.body);
        return res.body as T;
      }
    },
    /** The status and body of one request, whatever the status (tests, probes); see retryRateLimited. */
    async exchange(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
      let auth = await token();
      let renewed = false;
      for (let attempt = 0; ; attempt++) {
        const res = await send(method, path, body, auth);
        // A 401 is a refusal before the route ran. With the credential, a new token is worth one more try: the
        // server may have thrown the old one's signing key away, or this machine's clock let it run out.
        if (res.status === 401 && opts.credential && !renewed) {
          renewed = true;
          current = undefined;
          const fresh = await token().catch(() => undefined);
          if (fresh === undefined) return { status: res.status, body: res.body };
          auth = fresh;
          continue;
        }
        const wait = res.retryAfter;
        const retry = opts.retryRateLimited && res.status === 429 && wait !== undefined && wait <= MAX_RETRY_AFTER_S;
        if (!retry || attempt === MAX_RETRIES) {
          return { status: res.status, body: res.body };
        }
        await new Promise((r) => setTimeout(r, Math.max(wait ?? 1, 1) * 1000));
      }
    },
    close(): void {
      agent.destroy();
    },
  };
}
