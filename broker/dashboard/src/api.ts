// The operator API from the browser: same origin, the session cookie, problem+json errors as ApiError, and the
// CSRF token on every request that is not a GET.
import type { Session } from './api-types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
  ) {
    super(`${status} ${code}: ${detail || title}`);
    this.name = 'ApiError';
  }
}

let csrf = '';

/** Query string from the defined, non-empty values only. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function problemOf(res: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await res.json()) as Record<string, unknown>;
  } catch {
    // Not problem+json (a proxy's page, say): the status alone tells enough.
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return new ApiError(res.status, str(body.code) || `HTTP_${res.status}`, str(body.title), str(body.detail));
}

/** GET (or `method`) /api/v1`path`, parsed as JSON; ApiError for any status other than 2xx. */
export async function api<T>(path: string, opts: { method?: string; signal?: AbortSignal } = {}): Promise<T> {
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (!res.ok) throw await problemOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export async function loadSession(): Promise<Session> {
  const session = await api<Session>('/session');
  csrf = session.csrf;
  return session;
}

export async function logout(): Promise<void> {
  await api<void>('/session/logout', { method: 'POST' });
  csrf = '';
}

export const isAbort = (err: unknown) => err instanceof DOMException && err.name === 'AbortError';
