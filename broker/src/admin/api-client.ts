// A client of the operator API: HTTPS to the fleet server (its certificate must chain to the fleet CA), a token
// obtained with a proof of possession of the operator credential (or given in EDGEWARD_TOKEN), JSON in and out,
// and every problem+json answer turned into an error carrying the server's code.
import { Agent, request } from 'node:https';
import { EdgewardError, keyId, parsePrivateKeyPem, UsageError } from '../../../shared/src/index.js';
import { fleetIdOf } from '../api/fleet-id.js';
import { createProof, type TokenRequest } from '../api/proof.js';

export interface ApiClientOptions {
  /** https://host:port of the fleet server. */
  readonly server: string;
  /** The fleet CA (PEM): the server's certificate must chain to it; it also names the fleet in proofs. */
  readonly ca: string;
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

/** A rate-limited request is sent again at most this many times, when the server asks to wait at most this long. */
const MAX_RETRIES = 3;
const MAX_RETRY_AFTER_S = 60;

export function createApiClient(opts: ApiClientOptions) {
  const base = new URL(opts.server);
  if (base.protocol !== 'https:') throw new UsageError(`--server must be an https:// URL, got ${opts.server}`);
  const agent = new Agent({ ca: opts.ca, keepAlive: true, maxSockets: 4 });
  let token = opts.token;

  function send(
    method: string,
    path: string,
    body?: unknown,
    auth = true,
  ): Promise<{ status: number; body: unknown; retryAfter?: number }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, base),
        {
          method,
          agent,
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
            ...(auth && token ? { authorization: `Bearer ${token}` } : {}),
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
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(
          new EdgewardError(
            'API_UNAVAILABLE',
            `cannot reach the fleet server at ${base.origin}: ${err.code ?? err.message}`,
            {
              cause: err,
            },
          ),
        ),
      );
      req.end(payload);
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
    const pair = parsePrivateKeyPem(opts.credential, 'the credential');
    const assertion = await createProof({
      privateKeyPem: opts.credential,
      kid: keyId(pair.publicKey),
      audience: fleetIdOf(opts.ca),
      ...(request ? { request } : {}),
    });
    const res = await send('POST', '/api/v1/auth/token', { assertion }, false);
    if (res.status !== 201) throw failure(res.status, res.body);
    return res.body as IssuedTokenAnswer;
  }

  return {
    obtainToken,
    /** Calls the API with the client's token (obtained once, on first use); throws ApiRequestError on errors. */
    async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
      const res = await this.exchange(method, path, body);
      if (res.status >= 400) throw failure(res.status, res.body);
      return res.body as T;
    },
    /** The status and body of one request, whatever the status (tests, probes); see retryRateLimited. */
    async exchange(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
      if (!token) token = (await obtainToken()).token;
      for (let attempt = 0; ; attempt++) {
        const res = await send(method, path, body);
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
