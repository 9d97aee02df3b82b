// Operator API error codes (API_*), listed in docs/errors.md, and the one error shape every route answers with:
// application/problem+json (RFC 9457) carrying the project's code.
import { STATUS_CODES } from 'node:http';
import { defineCodes, EdgewardError } from '../../../shared/src/index.js';

export const apiCodes = defineCodes({
  API_UNAUTHENTICATED:
    'No valid token: it is missing, malformed, expired, tampered with, signed by another fleet, or its operator ' +
    'was revoked. Get a new one with `fleet token create`.',
  API_FORBIDDEN: "The token's role or scopes do not allow this route, or it is limited to other devices.",
  API_PROOF_INVALID:
    'The proof of possession was refused: unknown or revoked operator, bad signature, expired, already used, or ' +
    'it asks for more than the role allows.',
  API_INVALID_REQUEST: 'A parameter or the body does not match the route schema; `errors` lists every problem.',
  API_NOT_FOUND: 'No such route, or no such object (device, command, operator).',
  API_CONFLICT: 'The change conflicts with the current state (the object exists, or is revoked).',
  API_BODY_TOO_LARGE: 'The request body is larger than the route accepts.',
  API_UNSUPPORTED_MEDIA_TYPE: 'The request body is not application/json, or it is compressed.',
  API_HEADERS_TOO_LARGE: 'The request headers (with the request line) are larger than the server accepts.',
  API_REQUEST_TIMEOUT: 'The request headers or body did not arrive in time; the connection was closed.',
  API_RATE_LIMITED: 'Too many requests from this operator or address; retry after the Retry-After seconds.',
  API_UNAVAILABLE: 'The server cannot reach a dependency or could not complete the request; retry later.',
  API_SERVER_ERROR: 'The server failed to answer; the request id in the log tells why.',
});
export type ApiCode = keyof typeof apiCodes;

export class ApiError extends EdgewardError {
  declare readonly code: ApiCode;
  readonly status: number;
  constructor(status: number, code: ApiCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details ? { details } : {});
    this.status = status;
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: { path: string; message: string }[];
  [extra: string]: unknown;
}

export const PROBLEM_TYPE = 'application/problem+json';

/** The problem document for `code`: `type` names the code so clients can branch on it without parsing text. */
export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  const title = STATUS_CODES[status] ?? 'Error';
  return { type: `urn:edgeward:error:${code}`, title, status, detail, code, ...extra };
}
