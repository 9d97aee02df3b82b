// /api/v1/rollouts: staged rollouts of a published release (docs/updates.md#rollouts). Every route needs
// releases:write, which only release-manager and admin hold, even to read: a rollout names the release, the devices
// it reaches and why it halted. Fleet-wide, so a token limited to some devices is refused.
import type { FastifyInstance } from 'fastify';
import { RELEASE_ID_PATTERN } from '../../../../shared/src/index.js';
import { MAX_STAGES, ROLLOUT_DEVICE_STATES, ROLLOUT_STATES } from '../../db/rollout-rules.js';
import { API_PREFIX } from '../app.js';
import { deviceId, isoTime, object, responses } from '../schemas.js';
import { adminOf, type RouteDeps } from './context.js';

type Json = Record<string, unknown>;
const nullable = (schema: Json) => ({ anyOf: [schema, { type: 'null' }] });
const count = { type: 'integer', minimum: 0 } as const;
const share = { type: 'number', minimum: 0, maximum: 1 } as const;
const rolloutId = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;
const releaseId = {
  type: 'string',
  pattern: RELEASE_ID_PATTERN.source,
  description: 'SHA-256 of the bundle',
  examples: ['0'.repeat(64)],
} as const;
const reasonCode = { type: 'string', maxLength: 64 } as const;

const stageTime = object({
  stage: count,
  devices: count,
  startedAt: { type: 'integer', description: 'ms since the epoch' },
  endedAt: nullable({ type: 'integer' }),
});

const rolloutDevice = object({
  deviceId,
  position: count,
  stage: { type: 'integer', minimum: -1 },
  state: { type: 'string', enum: ROLLOUT_DEVICE_STATES },
  offeredAt: nullable(isoTime),
  updatedAt: isoTime,
  reasonCode: nullable(reasonCode),
  reason: nullable({ type: 'string' }),
});

export const rolloutSchema = object(
  {
    id: rolloutId,
    releaseId,
    version: { type: 'string' },
    hardware: { type: 'string' },
    selector: { type: 'string' },
    state: { type: 'string', enum: ROLLOUT_STATES },
    stage: { ...count, description: 'The current stage, 0-based' },
    stages: { type: 'array', items: { type: 'number' }, description: 'Cumulative percentages of the devices' },
    successThreshold: share,
    errorThreshold: share,
    minWaitMs: count,
    haltReason: nullable({ type: 'string' }),
    createdAt: isoTime,
    createdBy: nullable({ type: 'string' }),
    updatedAt: isoTime,
    stageTimes: { type: 'array', items: stageTime },
    devices: count,
    counts: object(Object.fromEntries(ROLLOUT_DEVICE_STATES.map((s) => [s, count]))),
    offered: count,
    inProgress: count,
    updated: count,
    failed: count,
    failures: { type: 'array', items: object({ reasonCode, devices: count }) },
    deviceList: { type: 'array', items: rolloutDevice },
  },
  ['deviceList'],
);

const idParams = object({ id: rolloutId });

export function rolloutRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post(
    `${API_PREFIX}/rollouts`,
    {
      config: { scope: 'releases:write', fleetWide: true, action: 'rollout.create' },
      schema: {
        summary: 'Start a staged rollout of a published release to the devices a selector picks',
        description:
          'The selector is `all` (default), `type:NAME`, `hardware:ID` or `ids:a,b,c`; only active devices whose ' +
          "hardware is the release's (or not known yet) are picked. Stages are cumulative percentages (default 1, " +
          '10, 50, 100); a stage ends when successThreshold of its devices committed and minWaitMs passed; the ' +
          'rollout halts when failures exceed errorThreshold of the devices offered.',
        tags: ['rollouts'],
        body: object(
          {
            releaseId,
            selector: { type: 'string', minLength: 3, maxLength: 65_536 },
            stages: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_STAGES,
              items: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
            },
            successThreshold: share,
            errorThreshold: share,
            minWaitMs: { type: 'integer', minimum: 0, maximum: 366 * 86_400_000 },
          },
          ['selector', 'stages', 'successThreshold', 'errorThreshold', 'minWaitMs'],
        ),
        response: responses({ 201: rolloutSchema }, [404, 409]),
      },
    },
    async (req, reply) => {
      const view = await adminOf(deps, req).rollouts.create(req.body as { releaseId: string });
      req.auditObject = { type: 'rollout', id: String(view.id) };
      return reply.code(201).send(view);
    },
  );

  app.get(
    `${API_PREFIX}/rollouts`,
    {
      config: { scope: 'releases:write', fleetWide: true },
      schema: {
        summary: 'Rollouts, newest first',
        tags: ['rollouts'],
        querystring: object({ limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }, ['limit']),
        response: responses({ 200: object({ items: { type: 'array', items: rolloutSchema } }) }),
      },
    },
    async (req) => ({ items: await adminOf(deps, req).rollouts.list(req.query as { limit: number }) }),
  );

  app.get(
    `${API_PREFIX}/rollouts/:id`,
    {
      config: { scope: 'releases:write', fleetWide: true },
      schema: {
        summary:
          "A rollout: state, stage, device counts per state, stage times, halt reason (and, asked, its devices')",
        tags: ['rollouts'],
        params: idParams,
        querystring: object({ devices: { type: 'boolean', default: false } }, ['devices']),
        response: responses({ 200: rolloutSchema }, [404]),
      },
    },
    async (req) =>
      adminOf(deps, req).rollouts.get((req.params as { id: number }).id, req.query as { devices: boolean }),
  );

  const actions = {
    pause: 'Pause: no new offers; devices already updating carry on',
    resume: 'Resume a paused or halted rollout (resuming a halted one accepts the failures so far)',
    abort: 'Abort: devices that have not started installing are sent a cancel; no new offers',
  } as const;
  for (const [action, summary] of Object.entries(actions) as [keyof typeof actions, string][]) {
    app.post(
      `${API_PREFIX}/rollouts/:id/${action}`,
      {
        config: { scope: 'releases:write', fleetWide: true, action: `rollout.${action}` },
        schema: {
          summary,
          tags: ['rollouts'],
          params: idParams,
          response: responses({ 200: rolloutSchema }, [404, 409]),
        },
      },
      async (req) => adminOf(deps, req).rollouts[action]((req.params as { id: number }).id),
    );
  }
}
