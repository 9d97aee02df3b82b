// Staged rollouts on the server's database: created, read, paused, resumed and aborted for the caller. The engine
// in the running server (fleet/rollouts.ts) sees the change at once (onChange, or data_version for the CLI).
import type { AuditLog } from '../db/audit.js';
import type { Db } from '../db/open.js';
import { createRolloutStore, type RolloutEvent } from '../db/rollouts.js';
import { clampLimit, type CallerContext } from './local-context.js';
import type { RolloutAdmin } from './types.js';

/** The security event log's name for each operator action. */
const EVENT_OF = { pause: 'rollout.paused', resume: 'rollout.resumed', abort: 'rollout.aborted' } as const;

export function localRollouts(deps: {
  db: Db;
  events: Pick<AuditLog, 'record'>;
  now: () => number;
  changed: () => void;
}): (ctx: CallerContext) => RolloutAdmin {
  const store = createRolloutStore(deps.db);
  return (ctx) => {
    const move = (event: RolloutEvent & keyof typeof EVENT_OF) => async (id: number) => {
      const state = store.transition(id, event, deps.now());
      deps.events.record({ event: EVENT_OF[event], actor: ctx.actor, detail: { rolloutId: id, state } });
      deps.changed();
      return store.view(id);
    };
    return {
      async create(req) {
        const id = store.create(req, ctx.actor, deps.now());
        const view = store.view(id);
        deps.events.record({
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
