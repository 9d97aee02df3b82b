// FleetAdmin over the operator API: what `fleet … --server URL` uses. Each call is one request (lists page
// through with the cursor the server returns), and answers are the same objects the local side returns.
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { EdgewardError } from '../../../shared/src/index.js';
import { type ApiClient, ApiRequestError } from './api-client.js';
import type {
  AuditTrailQuery,
  CommandQuery,
  EventQuery,
  FleetAdmin,
  FleetAuditRun,
  Page,
  PageQuery,
  RangeQuery,
  TelemetryQuery,
} from './types.js';

/** `?a=1&b=x` from the defined entries of `q` (undefined ones are left out). */
export function queryString(q: object): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const seg = (s: string) => encodeURIComponent(s);

export function createRemoteAdmin(client: ApiClient): FleetAdmin {
  /**
   * One page of a list. A server whose cursor does not move on from the one asked with is refused: every caller
   * that reads a list to its end (the CLI, the simulator) would otherwise ask for the same page for ever.
   */
  const page = async <T>(path: string, q: PageQuery): Promise<Page<T>> => {
    const p = await client.call<Page<T>>('GET', `${path}${queryString(q)}`);
    if (p.next !== null && p.next === q.cursor) {
      throw new EdgewardError(
        'API_SERVER_ERROR',
        `the server answered ${path} with the cursor it was asked for (${q.cursor})`,
      );
    }
    return p;
  };
  return {
    devices: {
      list: (q: PageQuery & { status?: string } = {}) => page('/api/v1/devices', q),
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
    reports: {
      report: (id, q = {}) => client.call('GET', `/api/v1/devices/${seg(id)}/report${queryString(q)}`),
      posture: (q = {}) => client.call('GET', `/api/v1/posture${queryString(q)}`),
      postureHistory: (q = {}) => client.call('GET', `/api/v1/posture/history${queryString(q)}`),
      received: (q: RangeQuery = {}) => page('/api/v1/reports', q),
    },
    fleetAudit: {
      run: () => client.call('POST', '/api/v1/fleet-audit'),
      latest: () =>
        client.call<FleetAuditRun>('GET', '/api/v1/fleet-audit').catch((err: unknown) => {
          if (err instanceof ApiRequestError && err.status === 404) return null;
          throw err;
        }),
    },
    commands: {
      // The server reserves for the operator's own key, whatever is asked (the client checks the answer).
      reserveCounter: () => client.call('POST', '/api/v1/commands/counter'),
      submit: (deviceId, envelope) =>
        client.call('POST', `/api/v1/devices/${seg(deviceId)}/commands`, {
          envelope: Buffer.from(envelope).toString('base64'),
        }),
      // Filtered by ?deviceId= (an unknown device lists nothing, as on the host), not /devices/{id}/commands (404).
      list: (q: CommandQuery = {}) => page('/api/v1/commands', q),
      get: (cmdId) => client.call('GET', `/api/v1/commands/${seg(cmdId)}`),
      acks: (cmdId, q: PageQuery = {}) => page(`/api/v1/commands/${seg(cmdId)}/acks`, q),
    },
    dashboard: {
      overview: () => client.call('GET', '/api/v1/overview'),
      telemetryPerHour: async (hours) =>
        (await client.call<{ hours: never[] }>('GET', `/api/v1/telemetry/hourly?hours=${hours}`)).hours,
      eventsPerHour: async (hours) =>
        (await client.call<{ hours: never[] }>('GET', `/api/v1/events/hourly?hours=${hours}`)).hours,
      // Through the API a link is always for the credential's own operator (the server ignores any other name).
      link: () => client.call('POST', '/api/v1/dashboard/links'),
    },
    rollouts: {
      create: (req) => client.call('POST', '/api/v1/rollouts', req),
      list: async (q = {}) => (await client.call<{ items: never[] }>('GET', `/api/v1/rollouts${queryString(q)}`)).items,
      get: (id, q = {}) =>
        client.call('GET', `/api/v1/rollouts/${id}${queryString(q.devices ? { devices: true } : {})}`),
      pause: (id) => client.call('POST', `/api/v1/rollouts/${id}/pause`),
      resume: (id) => client.call('POST', `/api/v1/rollouts/${id}/resume`),
      abort: (id) => client.call('POST', `/api/v1/rollouts/${id}/abort`),
    },
    releases: {
      publish: (source) => {
        if ('path' in source) {
          const length = statSync(source.path).size;
          return client.upload('POST', '/api/v1/releases', {
            type: 'application/octet-stream',
            data: () => createReadStream(source.path),
            length,
          });
        }
        const stream = Readable.from(source.stream);
        return client.upload('POST', '/api/v1/releases', {
          type: 'application/octet-stream',
          data: () => stream,
          ...(source.length !== undefined ? { length: source.length } : {}),
        });
      },
      list: async () => (await client.call<{ items: never[] }>('GET', '/api/v1/releases')).items,
      get: (id) => client.call('GET', `/api/v1/releases/${seg(id)}`),
    },
    trust: {
      set: (document) => client.upload('PUT', '/api/v1/trust', { type: 'application/cbor', data: () => document }),
      list: async () => (await client.call<{ items: never[] }>('GET', '/api/v1/trust')).items,
    },
    telemetry: (id, q: TelemetryQuery = {}) => page(`/api/v1/devices/${seg(id)}/telemetry`, q),
    fleetTelemetry: (q: RangeQuery = {}) => page('/api/v1/telemetry', q),
    events: (q: EventQuery = {}) => page('/api/v1/events', q),
    auditTrail: (q: AuditTrailQuery = {}) => page('/api/v1/audit', q),
    close: () => client.close(),
  };
}
