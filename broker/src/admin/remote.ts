// FleetAdmin over the operator API: what `fleet … --server URL` uses. Each call is one request (lists page
// through with the cursor the server returns), and answers are the same objects the local side returns.
import type { ApiClient } from './api-client.js';
import type { AuditTrailQuery, EventQuery, FleetAdmin, PageQuery } from './types.js';

/** `?a=1&b=x` from the defined entries of `q` (undefined ones are left out). */
export function queryString(q: object): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const seg = (s: string) => encodeURIComponent(s);

export function createRemoteAdmin(client: ApiClient): FleetAdmin {
  return {
    devices: {
      list: (q: PageQuery & { status?: string } = {}) => client.call('GET', `/api/v1/devices${queryString(q)}`),
      get: (id) => client.call('GET', `/api/v1/devices/${seg(id)}`),
      add: (req) => client.call('POST', '/api/v1/devices', req),
      renew: (id, req) => client.call('POST', `/api/v1/devices/${seg(id)}/renew`, req),
      revoke: (id) => client.call('POST', `/api/v1/devices/${seg(id)}/revoke`),
    },
    operators: {
      list: async () => (await client.call<{ items: never[] }>('GET', '/api/v1/operators')).items,
      add: (req) => client.call('POST', '/api/v1/operators', req),
      revoke: (name) => client.call('POST', `/api/v1/operators/${seg(name)}/revoke`),
    },
    enrollment: {
      createTokens: (req) => client.call('POST', '/api/v1/enrollment-tokens', req),
    },
    events: (q: EventQuery = {}) => client.call('GET', `/api/v1/events${queryString(q)}`),
    auditTrail: (q: AuditTrailQuery = {}) => client.call('GET', `/api/v1/audit${queryString(q)}`),
    close: () => client.close(),
  };
}
