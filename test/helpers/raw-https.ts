// Raw HTTPS requests to a fleet server for protection tests: any method, path, header and body (what a hostile
// client sends, which the API client never would), each on a fresh connection unless an agent is given, and the
// documented error codes to check problem documents against.
import { readFileSync } from 'node:fs';
import { type Agent, request } from 'node:https';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { fleetIdOf } from '../../broker/src/api/fleet-id.js';
import { createProof, type TokenRequest } from '../../broker/src/api/proof.js';
import type { TestOperator } from './operators.js';

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  readonly json: Record<string, unknown> | undefined;
}

export interface RawRequest {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string | number>;
  /** Sent as is; with `chunked` no Content-Length is set (Transfer-Encoding: chunked). */
  readonly body?: string | Buffer;
  readonly chunked?: boolean;
  readonly token?: string;
  /** Source address (127.0.0.x) to stand for another client. */
  readonly localAddress?: string;
  readonly agent?: Agent;
  readonly timeoutMs?: number;
}

export function caOf(dataDir: string): Buffer {
  return readFileSync(join(dataDir, 'pki', 'ca.crt'));
}

export function rawRequest(port: number, ca: Buffer, r: RawRequest): Promise<RawAnswer> {
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  const headers: Record<string, string | number> = {
    ...(body && !r.chunked ? { 'content-length': body.length } : {}),
    ...(r.token ? { authorization: `Bearer ${r.token}` } : {}),
    ...r.headers,
  };
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: r.method ?? 'GET',
        path: r.path,
        ca,
        servername: 'localhost',
        headers,
        agent: r.agent ?? false,
        ...(r.localAddress ? { localAddress: r.localAddress } : {}),
        timeout: r.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${r.method ?? 'GET'} ${r.path} in time`)));
    req.on('error', reject);
    if (r.chunked) req.setHeader('transfer-encoding', 'chunked');
    req.end(body);
  });
}

/** A token for `op`, asked for from `localAddress` (the exchange counts against that address's budget). */
export async function tokenFrom(
  port: number,
  ca: Buffer,
  op: TestOperator,
  localAddress?: string,
  request?: TokenRequest,
): Promise<string> {
  const assertion = await createProof({
    privateKeyPem: op.credential,
    kid: op.kid,
    audience: fleetIdOf(ca),
    ...(request ? { request } : {}),
  });
  const a = await rawRequest(port, ca, {
    method: 'POST',
    path: '/api/v1/auth/token',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ assertion }),
    ...(localAddress ? { localAddress } : {}),
  });
  if (a.status !== 201) throw new Error(`no token for ${op.name}: ${a.status} ${a.text}`);
  return String(a.json?.token);
}

/** A TLS connection to the HTTPS port for bytes no HTTP client would send; resolves once the handshake is done. */
export function tlsSocket(port: number, ca: Buffer, localAddress?: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect(
      { host: '127.0.0.1', port, ca, servername: 'localhost', ...(localAddress ? { localAddress } : {}) },
      () => resolve(s),
    );
    s.once('error', reject);
  });
}

/** Writes `bytes` on a fresh TLS connection and collects what comes back until the server closes it. */
export async function rawExchange(port: number, ca: Buffer, bytes: string | Buffer, timeoutMs = 5000): Promise<string> {
  const s = await tlsSocket(port, ca);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('the server neither answered nor closed the connection'));
    }, timeoutMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    s.write(bytes);
  });
}

/** Splits a raw HTTP/1.1 answer into status, lower-case headers and body. */
export function parseRawAnswer(raw: string): { status: number; headers: Record<string, string>; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  const head = (end < 0 ? raw : raw.slice(0, end)).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers, body: end < 0 ? '' : raw.slice(end + 4) };
}

const errorsDoc = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));

/** The codes docs/errors.md lists. */
export function documentedCodes(): Set<string> {
  const doc = readFileSync(errorsDoc, 'utf8');
  return new Set([...doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
}

/** What is wrong with an answer that should be a 4xx problem document with a documented code ('' when nothing). */
export function problemFault(a: RawAnswer, codes: ReadonlySet<string>): string {
  if (a.status < 400 || a.status > 499) return `status ${a.status}`;
  const type = String(a.headers['content-type'] ?? '');
  if (!type.startsWith('application/problem+json')) return `${a.status} with content-type ${type}`;
  const p = a.json;
  if (!p) return `${a.status}: body is not JSON: ${a.text.slice(0, 80)}`;
  if (p.status !== a.status) return `${a.status}: problem status ${String(p.status)}`;
  if (typeof p.code !== 'string' || !codes.has(p.code)) return `${a.status}: undocumented code ${String(p.code)}`;
  if (p.type !== `urn:edgeward:error:${p.code}`) return `${a.status}: type ${String(p.type)}`;
  return '';
}
