// attack: k rogue devices run the playbook against the server while the honest fleet keeps working; every
// attempt must be denied (and the MQTT ones audited), and the honest devices' latency is compared between a
// baseline phase and the attack phase.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fleetPaths } from '../../../broker/src/fleet/data-dir.js';
import { openCommandQueue, type QueuedCommand } from '../attack/commands.js';
import { badBundle, FIRMWARE_EXPECTED, goodBundle } from '../attack/materials.js';
import {
  ALL_ACTIONS,
  AUDIT_EXPECTED,
  MQTT_ACTIONS,
  runMqttAction,
  type AttackAction,
  type Verdict,
} from '../attack/playbook.js';
import type { RogueIdentity } from '../attack/rogue-client.js';
import { rogueAddress } from '../source-addresses.js';
import type { Invariant } from '../result.js';
import type { Scenario, ScenarioContext } from './types.js';

/** How long a command attempt may take to be answered by the device (through the relay and its outbox). */
const ACK_WAIT_MS = 20_000;
/**
 * How often the server view is asked for a command's acknowledgements: a few requests a second per attempt keep a
 * minute-long attack well below the API's per-operator limit (1,200 a minute).
 */
const POLL_MS = 250;

export const attack: Scenario = {
  name: 'attack',
  summary: 'k rogue devices run the attack playbook; every action must be denied; honest p99 before vs during',
  rogues: (o) => o.rogues,
  async run(ctx) {
    const { options: o, fleet } = ctx;
    const baselineMs = Math.max(1000, Math.round(o.durationMs * 0.4));
    const t0 = Date.now();
    fleet.phase('baseline');
    if (!(await ctx.sleep(baselineMs))) return { fields: {}, invariants: [] };
    const t1 = Date.now();
    const end = t0 + o.durationMs;
    fleet.phase('attack');
    const honestDisconnects = fleet.totals().disconnects;
    ctx.note(`attack: ${ctx.rogues.length} rogue device(s) start the playbook`);

    const attempts: Record<string, number> = Object.fromEntries(ALL_ACTIONS.map((a) => [a, 0]));
    const denied: Record<string, number> = Object.fromEntries(ALL_ACTIONS.map((a) => [a, 0]));
    const surprises: string[] = [];
    const count = (action: AttackAction, v: Verdict, detail = '') => {
      if (v === 'not-tried') return;
      attempts[action]!++;
      if (v === 'denied') denied[action]!++;
      else if (surprises.length < 20) surprises.push(`${action}: ${v}${detail ? ` (${detail})` : ''}`);
    };
    const url = `mqtts://${ctx.serverHost}:${ctx.serverPort}`;
    const ca = readFileSync(fleetPaths(ctx.dataDir).caCert);
    const rogues: RogueIdentity[] = ctx.rogues.map((r, i) => ({
      id: r.id,
      key: readFileSync(join(r.dir, 'device.key')),
      cert: readFileSync(join(r.dir, 'device.crt')),
      ca,
      ...(o.sourceAddresses > 0 ? { localAddress: rogueAddress(i) } : {}),
    }));
    const victim = (round: number) => fleet.ids[(round * 7919) % fleet.ids.length]!;
    const running = () => Date.now() < end && !ctx.signal.aborted;

    const rogueLoops = rogues.map(async (rogue, i) => {
      for (let round = i; running(); round++) {
        for (const action of MQTT_ACTIONS) {
          if (!running()) return;
          count(action, await runMqttAction(action, url, rogue, victim(round), round));
        }
      }
    });

    const queue = openCommandQueue(ctx.dataDir, ctx.materials.operator);
    const backendLoop = (async () => {
      for (let round = 0; running(); round++) {
        const id = victim(round + 1);
        await Promise.all([
          // Both kinds every round (an unknown key, a body changed after signing): however few rounds a short or
          // loaded run gets, each rejection reason is exercised.
          ...[queue.forged(id), queue.tampered(id)].map((c) =>
            commandAttempt(ctx, c).then((v) => count('forged-command', v.verdict, v.detail)),
          ),
          replayAttempt(
            ctx,
            () => queue.genuine(victim(round + 2)),
            (c) => queue.replay(c),
          ).then((v) => count('replayed-command', v.verdict, v.detail)),
          ctx.fleet
            .offerFirmware(id, badBundle(round % 2 === 0 ? 'forged-firmware' : 'tampered-firmware', ctx.materials))
            .then((code) =>
              count(
                'forged-firmware',
                FIRMWARE_EXPECTED['forged-firmware'].includes(code) ||
                  FIRMWARE_EXPECTED['tampered-firmware'].includes(code)
                  ? 'denied'
                  : 'accepted',
                code,
              ),
            ),
          ctx.fleet
            .offerFirmware(id, badBundle('downgraded-firmware', ctx.materials))
            .then((code) =>
              count(
                'downgraded-firmware',
                FIRMWARE_EXPECTED['downgraded-firmware'].includes(code) ? 'denied' : 'accepted',
                code,
              ),
            ),
        ]);
        await ctx.sleep(250);
      }
    })();
    await Promise.all([...rogueLoops, backendLoop]);
    queue.close();
    const t2 = Date.now();
    // The control case: the gate takes a genuine bundle, so its refusals above mean something.
    const control = await fleet.offerFirmware(fleet.ids[0]!, goodBundle(ctx.materials));
    const audited = await ctx.server.audited(
      t1,
      rogues.map((r) => r.id),
    );
    const lostHonest = fleet.totals().disconnects - honestDisconnects;

    const invariants: Invariant[] = ALL_ACTIONS.map((a) => ({
      name: `denied-${a}`,
      ok: attempts[a]! > 0 && denied[a] === attempts[a],
      detail:
        `${denied[a]} of ${attempts[a]} attempts ` +
        `denied${attempts[a] === 0 ? ' (never tried: the attack phase was too short)' : ''}`,
    }));
    const missing = MQTT_ACTIONS.filter(
      (a) =>
        attempts[a]! > 0 &&
        !Object.keys(audited).some((k) => k === AUDIT_EXPECTED[a] || k.startsWith(`${AUDIT_EXPECTED[a]}:`)),
    );
    invariants.push(
      {
        name: 'denials-audited',
        ok: missing.length === 0,
        detail:
          missing.length === 0
            ? 'every MQTT action left its audit event'
            : `no audit event for: ${missing.map((a) => `${a} (${AUDIT_EXPECTED[a]})`).join(', ')}`,
      },
      { name: 'firmware-gate-accepts-genuine', ok: control === 'accepted', detail: `a genuine bundle got: ${control}` },
      {
        name: 'honest-devices-stayed-connected',
        ok: lostHonest === 0,
        detail: `${lostHonest} honest connections lost during the attack`,
      },
    );
    if (surprises.length > 0) ctx.note(`attack: not denied: ${surprises.join('; ')}`);
    return {
      fields: { attempts, denied, audited },
      invariants,
      phases: [
        { name: 'baseline', from: t0, to: t1 },
        { name: 'attack', from: t1, to: t2 },
      ],
    };
  },
};

/** Waits for the device's acknowledgement of a queued command: denied when it is rejected for an expected reason. */
async function commandAttempt(ctx: ScenarioContext, c: QueuedCommand): Promise<{ verdict: Verdict; detail: string }> {
  const deadline = Date.now() + ACK_WAIT_MS;
  while (Date.now() < deadline) {
    const acks = await ctx.server.acks(c.cmdId);
    const refused = acks.find((a) => a.status === 'rejected');
    if (refused)
      return {
        verdict: c.expected.includes(refused.reason ?? '') ? 'denied' : 'accepted',
        detail: `rejected: ${refused.reason}`,
      };
    const ran = acks.find((a) => a.status === 'accepted' || a.status === 'done');
    if (ran) return { verdict: 'accepted', detail: ran.status };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return { verdict: 'no-answer', detail: `no acknowledgement for ${c.cmdId} within ${ACK_WAIT_MS / 1000} s` };
}

/** Sends a genuine command, waits until it ran, then queues the same envelope again: it must be refused as a replay. */
async function replayAttempt(
  ctx: ScenarioContext,
  genuine: () => QueuedCommand,
  replay: (c: QueuedCommand) => QueuedCommand,
): Promise<{ verdict: Verdict; detail: string }> {
  const original = genuine();
  const deadline = Date.now() + ACK_WAIT_MS;
  while ((await ctx.server.commandStatus(original.cmdId)) !== 'done') {
    if (Date.now() > deadline) return { verdict: 'not-tried', detail: 'the genuine command never completed' };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const again = replay(original);
  while (Date.now() < deadline + ACK_WAIT_MS) {
    const acks = await ctx.server.acks(original.cmdId);
    const refused = acks.find((a) => a.status === 'rejected');
    if (refused)
      return {
        verdict: again.expected.includes(refused.reason ?? '') ? 'denied' : 'accepted',
        detail: `rejected: ${refused.reason}`,
      };
    if (acks.filter((a) => a.status === 'done').length > 1)
      return { verdict: 'accepted', detail: 'the replay ran again' };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return { verdict: 'no-answer', detail: 'no acknowledgement of the replay' };
}
