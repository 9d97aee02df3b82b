// rollout: a real staged rollout on the virtual fleet. The bundle is published as a release and rolled out by the
// fleet server's own rollout engine; each virtual device runs the agent's real update client (download over mTLS
// with its own certificate, streaming verification, A/B install in memory, health check), and a chosen share of
// them fails where --fail-mode says. The run ends when the rollout completes, halts or aborts, or at --duration.
// Invariants: with failures above the error threshold the rollout halts; no device is left without a working image.
import type { RolloutView } from '../rollout-control.js';
import type { Invariant } from '../result.js';
import type { Scenario, ScenarioOutcome } from './types.js';

/** How often the rollout's state is read. */
const POLL_MS = 250;
/** After the rollout ended, how long devices already past the download get to reach their outcome. */
const SETTLE_MS = 30_000;

const ENDED = new Set(['completed', 'halted', 'aborted']);

export const rollout: Scenario = {
  name: 'rollout',
  summary: 'a staged firmware rollout of --release; --fail-rate devices fail at --fail-mode; must halt, never brick',
  async run(ctx): Promise<ScenarioOutcome> {
    const o = ctx.options;
    const control = ctx.rollout!;
    const release = await control.publish(o.release!);
    ctx.note(`rollout: release ${release.id.slice(0, 12)} (${release.hardware} ${release.version}) published`);
    const startedAt = Date.now();
    const id = await control.create({
      releaseId: release.id,
      deviceIds: ctx.fleet.ids,
      stages: o.stages,
      successThreshold: o.successThreshold,
      errorThreshold: o.errorThreshold,
      minWaitMs: o.minWaitMs,
    });
    ctx.note(`rollout ${id}: ${ctx.fleet.ids.length} devices, stages ${o.stages.join('%, ')}%`);
    let view: RolloutView = await control.view(id);
    let lastStage = -1;
    const deadline = startedAt + Math.max(o.durationMs, 1000);
    while (!ENDED.has(view.state) && Date.now() < deadline) {
      if (!(await ctx.sleep(POLL_MS))) break;
      view = await control.view(id);
      if (view.stage !== lastStage) {
        lastStage = view.stage;
        ctx.note(`rollout ${id}: stage ${view.stage + 1} of ${o.stages.length} (${o.stages[view.stage]}%)`);
      }
    }
    if (!ENDED.has(view.state)) ctx.note(`rollout ${id}: still ${view.state} after --duration; stopping there`);
    // Devices already offered keep going after a halt: wait for them to reach an outcome (or for the deadline).
    const settleUntil = Date.now() + SETTLE_MS;
    while (view.inProgress > 0 && Date.now() < settleUntil) {
      if (!(await ctx.sleep(POLL_MS))) break;
      view = await control.view(id);
    }
    if (view.haltReason) ctx.note(`rollout ${id} halted: ${view.haltReason}`);
    const failedShare = view.offered > 0 ? view.failed / view.offered : 0;
    const invariants: Invariant[] = [];
    if (o.failRate > o.errorThreshold) {
      invariants.push({
        name: 'rollout-halted',
        ok: view.state === 'halted',
        detail:
          view.state === 'halted'
            ? `halted with ${view.failed} of ${view.offered} offered devices failed: ${view.haltReason ?? ''}`
            : `fail rate ${o.failRate} is above the error threshold ${o.errorThreshold}, yet the rollout is ` +
              `${view.state} (${view.failed} of ${view.offered} failed)`,
      });
    } else if (o.failRate === 0) {
      invariants.push({
        name: 'rollout-completed',
        ok: view.state === 'completed' && view.updated === view.devices,
        detail: `${view.state}: ${view.updated} of ${view.devices} devices updated`,
      });
    }
    invariants.push({
      name: 'errors-within-threshold-or-halted',
      ok: view.state === 'halted' || failedShare <= o.errorThreshold,
      detail: `${view.failed} of ${view.offered} offered devices failed; the rollout is ${view.state}`,
    });
    return {
      fields: {
        rollout: {
          id,
          releaseId: release.id,
          state: view.state,
          devicesUpdated: view.updated,
          devicesFailed: view.failed,
          devices: view.devices,
          offered: view.offered,
          halted: view.state === 'halted',
          haltReason: view.haltReason,
          stageTimes: view.stageTimes.map((s) => ({
            stage: s.stage,
            percent: o.stages[s.stage] ?? 100,
            devices: s.devices,
            startedMs: Math.max(0, s.startedAt - startedAt),
            endedMs: s.endedAt === null ? null : Math.max(0, s.endedAt - startedAt),
            seconds: s.endedAt === null ? null : Math.round((s.endedAt - s.startedAt) / 100) / 10,
          })),
          failures: Object.fromEntries(view.failures.map((f) => [f.reasonCode, f.devices])),
        },
      },
      invariants,
    };
  },
};
