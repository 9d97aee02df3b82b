// The one place the scanner sends a body: JSON POSTs to a service already shown to be HTTP, for the llm.* probes.
// One request per connection, the reply size-capped and parsed leniently, and the wait bounded by the caller.
import { budget, withConn, type Dial, type ProbeContext } from '../net/conn.js';
import { hostHeader, parseResponse, responseComplete, USER_AGENT } from '../net/http-client.js';
import type { ProbeTarget } from '../types.js';

export interface LlmRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: unknown;
}

export type LlmReply =
  | {
      readonly ok: true;
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly text: string;
    }
  | { readonly ok: false; readonly error: string };

export function buildLlmRequest(target: ProbeTarget, req: LlmRequest): Buffer {
  const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body), 'utf8');
  const lines = [
    `${req.method} ${req.path} HTTP/1.1`,
    `Host: ${hostHeader(target)}`,
    `User-Agent: ${USER_AGENT}`,
    'Accept: application/json, application/x-ndjson, text/html;q=0.5',
    'Connection: close',
    ...(body ? ['Content-Type: application/json', `Content-Length: ${body.length}`] : []),
  ];
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body ? Buffer.concat([head, body]) : head;
}

/** Sends one request and waits at most `timeoutMs` (and never past the scan budget). Never throws. */
export async function llmRequest(
  ctx: ProbeContext,
  dial: Dial,
  target: ProbeTarget,
  req: LlmRequest,
  timeoutMs: number,
): Promise<LlmReply> {
  try {
    return await withConn(dial, async (conn) => {
      conn.write(buildLlmRequest(target, req));
      const { data, timedOut } = await conn.waitFor((d) => responseComplete(d, 'GET'), budget(ctx, timeoutMs));
      const response = parseResponse(data);
      if (!response) return { ok: false, error: timedOut ? 'timeout' : data.length ? 'not HTTP' : 'no response' };
      // A response cut off by the timeout is still judged on what arrived (a slow stream keeps its first tokens).
      const text = Buffer.from(response.body, 'latin1').toString('utf8');
      return { ok: true, status: response.status, headers: response.headers, text };
    });
  } catch (err) {
    return { ok: false, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}
