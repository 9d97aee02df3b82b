// The rollout engine: each running rollout offers its current stage's devices the release as they are connected,
// halts when failures cross the error threshold, and moves to the next stage when enough devices committed and the
// minimum wait passed. It runs on a timer and when update reports or other processes' changes arrive; all it knows
// is in the fleet store (its `rollouts`), so a restarted server picks each rollout up where it was. On a cluster
// every node runs one over the shared store, offering to the devices connected to it: each move is conditional on
// the state it read, so of two engines moving a rollout at once one does it and records it, the other nothing.
import { createHash, randomBytes } from 'node:crypto';
import {
  deviceTopic,
  encode,
  type Logger,
  MAX_OFFER_TRUST_DOCUMENTS,
  type UpdateOffer,
} from '../../../shared/src/index.js';
import type { AuditLog } from '../db/audit.js';
import { type Rollout, type RolloutEvent, stageSize } from '../db/rollout-rules.js';
import type { FleetError } from '../errors.js';
import type { RolloutStore } from '../store/types.js';

/** How long a download authorisation in an offer is valid. */
export const OFFER_TOKEN_TTL_MS = 60 * 60_000;
export const ROLLOUT_TICK_MS = 1000;

export interface RolloutEngine {
  /** Something changed (an update report, another process's write): look at every running rollout soon. */
  kick(): void;
  /** The device (re)subscribed to its update topic: a fresh offer for an update on its way, cancels still due. */
  onSubscribed(deviceId: string): void;
  onDisconnected(deviceId: string): void;
  /** One pass over every running rollout, now (tests and kick); resolves when it is done. */
  tick(): Promise<void>;
  /** Stops; resolves once the pass under way (if any) is done. */
  close(): Promise<void>;
}

export interface RolloutEngineDeps {
  readonly store: RolloutStore;
  /** Whether the device is connected (a session here, or online through an upstream broker). */
  readonly sessions: { get(deviceId: string): unknown };
  readonly publish: (topic: string, payload: Buffer) => Promise<void>;
  /** Where devices download a release's bundle (the device download listener). */
  readonly downloadUrl: (releaseId: string) => string;
  readonly audit: Pick<AuditLog, 'record'>;
  readonly log: Logger;
  readonly now?: () => number;
  readonly tickMs?: number;
}

/** "3 of 10 offered devices failed (30 % > 10 %): FW_PAYLOAD_DIGEST ×2, UPDATE_HEALTH ×1" */
export function haltReason(
  failed: number,
  offered: number,
  threshold: number,
  failures: readonly { reasonCode: string; devices: number }[],
): string {
  const pct = (x: number) => `${Math.round(x * 1000) / 10} %`;
  const codes = failures.map((f) => `${f.reasonCode} ×${f.devices}`).join(', ');
  const share = `${pct(failed / offered)} > ${pct(threshold)}`;
  return `${failed} of ${offered} offered devices failed (${share})${codes ? `: ${codes}` : ''}`;
}

export function createRolloutEngine(deps: RolloutEngineDeps): RolloutEngine {
  const now = deps.now ?? Date.now;
  const { store, log } = deps;
  // Devices subscribed to their update topic in this session, each with the aborted rollouts whose cancel it got
  // (sent again on its next subscription). Sessions are clean: an offer to a device not yet subscribed would be
  // lost, so offers go only to these; a subscription re-offers what is in progress, with a fresh token.
  const cancelsSent = new Map<string, Set<number>>();
  const subscribed = (deviceId: string) => cancelsSent.has(deviceId) && deps.sessions.get(deviceId) !== undefined;
  let scheduled: NodeJS.Immediate | undefined;
  let closed = false;
  /** The pass under way, and whether another was asked for meanwhile: passes never overlap (one offer per device). */
  let pass: Promise<void> | undefined;
  let again = false;

  function send(deviceId: string, offer: UpdateOffer): void {
    deps
      .publish(deviceTopic(deviceId, 'update'), encode(offer))
      .catch((err: unknown) =>
        log.warn('update offer not sent', { deviceId, rolloutId: offer.rolloutId, error: err as Error }),
      );
  }

  /**
   * Offers the release to devices, each with a fresh download authorisation of which only the hash is stored.
   * Stored (one commit) before anything is sent: a crash in between leaves Offered rows, re-offered when each
   * device subscribes again.
   */
  async function offer(r: Rollout, deviceIds: readonly string[]): Promise<void> {
    if (deviceIds.length === 0) return;
    const at = now();
    const expires = at + OFFER_TOKEN_TTL_MS;
    const tokens = deviceIds.map((deviceId) => {
      const token = randomBytes(32).toString('base64url');
      return { deviceId, token, tokenHash: createHash('sha256').update(token).digest(), expires };
    });
    const taken = await store.offer(r.id, tokens, at);
    const trust = await store.trustDocuments(MAX_OFFER_TRUST_DOCUMENTS);
    for (const t of tokens) {
      if (!taken.has(t.deviceId)) continue;
      send(t.deviceId, {
        v: 1,
        id: randomBytes(12).toString('base64url'),
        ts: at,
        action: 'install',
        rolloutId: r.id,
        releaseId: r.releaseId,
        version: r.version,
        url: deps.downloadUrl(r.releaseId),
        token: t.token,
        tokenExpires: expires,
        size: r.size,
        trust,
      });
      log.info('update offered', { deviceId: t.deviceId, rolloutId: r.id, stage: r.stage });
    }
  }

  async function cancel(rolloutId: number, deviceId: string): Promise<void> {
    const seen = cancelsSent.get(deviceId) ?? new Set<number>();
    cancelsSent.set(deviceId, seen);
    if (seen.has(rolloutId)) return;
    seen.add(rolloutId);
    let r: Rollout;
    try {
      r = await store.get(rolloutId);
    } catch (err) {
      seen.delete(rolloutId); // not sent: due again
      throw err;
    }
    send(deviceId, {
      v: 1,
      id: randomBytes(12).toString('base64url'),
      ts: now(),
      action: 'cancel',
      rolloutId,
      releaseId: r.releaseId,
    });
    log.info('update offer withdrawn', { deviceId, rolloutId });
  }

  /**
   * Moves a rollout as the engine; false when another engine (another node) or an operator moved it first, which
   * then recorded it: this one records nothing.
   */
  async function move(
    id: number,
    event: Extract<RolloutEvent, 'halt' | 'complete'>,
    reason?: string,
  ): Promise<boolean> {
    try {
      await store.transition(id, event, now(), reason);
      return true;
    } catch (err) {
      if ((err as FleetError).code === 'FLEET_ROLLOUT_STATE') return false;
      throw err;
    }
  }

  /** One running rollout: the error threshold first, then the stage, then offers. */
  async function step(id: number): Promise<void> {
    let r = await store.get(id);
    if (r.state !== 'running') return;
    const c = await store.counts(id);
    const offered = c.offered - r.acceptedOffered;
    const failed = c.failed - r.acceptedErrors;
    if (offered > 0 && failed / offered > r.errorThreshold) {
      const reason = haltReason(failed, offered, r.errorThreshold, await store.failures(id));
      if (!(await move(id, 'halt', reason))) return;
      deps.audit.record({ event: 'rollout.halted', actor: 'rollout-engine', detail: { rolloutId: id, reason } });
      log.warn('rollout halted', { rolloutId: id, reason });
      return;
    }
    for (;;) {
      const size = stageSize(r.stages, r.stage, r.total);
      const committed = await store.committedBelow(id, size);
      // The share as a whole number of devices (95 % of 20 is 19, whatever the float says).
      const needed = Math.ceil(r.successThreshold * size - 1e-9);
      const done = committed >= needed && now() - r.stageStartedAt >= r.minWaitMs;
      if (!done) break;
      if (r.stage + 1 >= r.stages.length) {
        if (!(await move(id, 'complete'))) return;
        deps.audit.record({ event: 'rollout.completed', actor: 'rollout-engine', detail: { rolloutId: id } });
        log.info('rollout completed', { rolloutId: id });
        return;
      }
      if (await store.advanceStage(r, now())) log.info('rollout stage started', { rolloutId: id, stage: r.stage + 1 });
      r = await store.get(id);
      if (r.state !== 'running') return;
    }
    await offer(r, (await store.pendingBelow(id, stageSize(r.stages, r.stage, r.total))).filter(subscribed));
  }

  async function passOnce(): Promise<void> {
    let running: number[] = [];
    try {
      running = await store.runningIds();
    } catch (err) {
      log.error('rollouts not read', { error: err as Error });
    }
    for (const id of running) {
      try {
        await step(id);
      } catch (err) {
        log.error('rollout step failed', { rolloutId: id, error: err as Error });
      }
    }
    try {
      for (const c of await store.cancelledDevices(now())) {
        if (subscribed(c.deviceId)) await cancel(c.rolloutId, c.deviceId);
      }
    } catch (err) {
      log.error('rollout cancels failed', { error: err as Error });
    }
  }

  function tick(): Promise<void> {
    scheduled = undefined;
    if (closed) return Promise.resolve();
    if (pass) {
      again = true;
      return pass;
    }
    pass = (async () => {
      do {
        again = false;
        await passOnce();
      } while (again && !closed);
    })().finally(() => {
      pass = undefined;
    });
    return pass;
  }

  const timer = setInterval(() => void tick(), deps.tickMs ?? ROLLOUT_TICK_MS);
  timer.unref();

  function kick(): void {
    if (closed || scheduled) return;
    scheduled = setImmediate(() => void tick());
  }

  return {
    kick,
    onSubscribed(deviceId) {
      if (closed) return;
      cancelsSent.set(deviceId, new Set());
      void (async () => {
        const due = await store.dueFor(deviceId, now());
        for (const id of due.inProgress) await offer(await store.get(id), [deviceId]);
        for (const id of due.cancelled) await cancel(id, deviceId);
      })()
        .catch((err: unknown) => log.error('update re-offer failed', { deviceId, error: err as Error }))
        .finally(kick);
    },
    onDisconnected(deviceId) {
      cancelsSent.delete(deviceId);
    },
    tick,
    async close() {
      closed = true;
      clearInterval(timer);
      if (scheduled) clearImmediate(scheduled);
      await pass; // before the store it reads closes
    },
  };
}
