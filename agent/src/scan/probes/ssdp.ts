// SSDP/UPnP fingerprint: one unicast M-SEARCH (UPnP Device Architecture 2.0 §1.3.2), read-only by design.
import { budget, type ProbeContext } from '../net/conn.js';
import { parseResponse, USER_AGENT } from '../net/http-client.js';
import type { ProbeTarget, ProtocolFacts } from '../types.js';

export function mSearch(target: ProbeTarget): Buffer {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return Buffer.from(
    [
      'M-SEARCH * HTTP/1.1',
      `HOST: ${host}:${target.port}`,
      'MAN: "ssdp:discover"',
      'MX: 1',
      'ST: ssdp:all',
      `USER-AGENT: ${USER_AGENT}`,
      '',
      '',
    ].join('\r\n'),
  );
}

const clean = (s: string | undefined) => (s === undefined ? undefined : s.replace(/[^\x20-\x7e]/g, '').slice(0, 200));

/** Facts from an M-SEARCH reply; undefined when it is not one (status 200 with ST or USN). */
export function ssdpFacts(reply: Buffer): Extract<ProtocolFacts, { protocol: 'ssdp' }> | undefined {
  const r = parseResponse(reply);
  if (r?.status !== 200 || (r.headers.st === undefined && r.headers.usn === undefined)) return undefined;
  const f = {
    server: clean(r.headers.server),
    st: clean(r.headers.st),
    usn: clean(r.headers.usn),
    location: clean(r.headers.location),
  };
  return {
    protocol: 'ssdp',
    ...(f.server ? { server: f.server } : {}),
    ...(f.st ? { st: f.st } : {}),
    ...(f.usn ? { usn: f.usn } : {}),
    ...(f.location ? { location: f.location } : {}),
  };
}

export async function probeSsdp(
  ctx: ProbeContext,
  target: ProbeTarget,
): Promise<Extract<ProtocolFacts, { protocol: 'ssdp' }> | undefined> {
  const release = await ctx.limiter.acquire();
  try {
    const reply = await ctx.env.udpRequest({
      host: target.host,
      port: target.port,
      payload: mSearch(target),
      timeoutMs: budget(ctx),
      maxBytes: ctx.maxReadBytes,
    });
    return reply ? ssdpFacts(reply) : undefined;
  } finally {
    release();
  }
}
