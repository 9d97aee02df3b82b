// Staged rollouts in the fleet store (the server's database, or the cluster's shared store): created, read, paused,
// resumed and aborted for the caller. The engine in the running server (fleet/rollouts.ts) sees the change at once
// (onChange, or data_version for the CLI); the other nodes of a cluster at their next pass.
import type { AuditEvent } from '../db/audit.js';
import type { RolloutEvent } from '../db/rollout-rules.js';
import type { RolloutStore } from '../store/types.js';
import { clampLimit, type CallerContext } from './local-context.js';
import type { RolloutAdmin } from './types.js';

/** The security event log's name for each operator action. */
const EVENT_OF = { pause: 'rollout.paused', resume: 'rollout.resumed', abort: 'rollout.aborted' } as const;

export function localRollouts(deps: {
  rollouts: RolloutStore;
  /** Records a security event where the fleet's records are. */
  record: (e: AuditEvent) => Promise<void>;
  now: () => number;
  changed: () => void;
}): (ctx: CallerContext) => RolloutAdmin {
  const store = deps.rollouts;
  return (ctx) => {
    const move = (event: RolloutEvent & keyof typeof EVENT_OF) => async (id: number) => {
      const state = await store.transition(id, event, deps.now());
      await deps.record({ event: EVENT_OF[event], actor: ctx.actor, detail: { rolloutId: id, state } });
      deps.changed();
      return store.view(id);
    };
    return {
      async create(req) {
        const id = await store.create(req, ctx.actor, deps.now());
        const view = await store.view(id);
        await deps.record({
          event: 'rollout.created',
          actor: ctx.actor,
          detail: { rolloutId: id, releaseId: view.releaseId, selector: view.selector, devices: view.devices },
        });
        deps.changed();
        return view;
      },
      async list(q = {}) {
        return store.list(clampLimit(q.limit, 100, 1000));
      },
      async get(id, q = {}) {
        return store.view(id, { devices: q.devices === true });
      },
      pause: move('pause'),
      resume: move('resume'),
      abort: move('abort'),
    };
  };
}
