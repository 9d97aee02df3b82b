// The machine-readable result of a run (fleet-sim run --json FILE): its schema, checked before it is written,
// and documented field by field in docs/simulator.md.
import { schema as s } from '../../shared/src/index.js';
import { SimulatorError } from './errors.js';

export const RESULT_SCHEMA_ID = 'edgeward.fleet-sim.result/1';

const count = () => s.int({ min: 0, max: Number.MAX_SAFE_INTEGER });
const ms = () => s.num({ min: 0, max: 1e12 });
const counts = () => s.record(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$/, count(), { maxKeys: 500 });

export const latencySchema = s.object({
  /** Samples measured. */
  count: count(),
  p50: ms(),
  p99: ms(),
  max: ms(),
});

export const invariantSchema = s.object({
  name: s.str({ pattern: /^[a-z0-9-]{1,60}$/, maxLength: 60 }),
  ok: s.bool(),
  detail: s.str({ maxLength: 2000 }),
});

export const resultSchema = s.object({
  schema: s.literal(RESULT_SCHEMA_ID),
  scenario: s.str({ pattern: /^[a-z0-9-]{1,40}$/, maxLength: 40 }),
  server: s.str({ maxLength: 300 }),
  startedAt: s.str({ maxLength: 40 }),
  finishedAt: s.str({ maxLength: 40 }),
  workers: count(),
  devices: count(),
  telemetryIntervalSeconds: s.num({ min: 0, max: 86_400 }),
  /** Length of the measured window: from "every device connected" to the end of the scenario. */
  durationSeconds: s.num({ min: 0, max: 1e7 }),
  /** Peak number of devices connected at the same time. */
  connected: count(),
  /** Seconds from the first connection attempt until every device was connected (null: never all at once). */
  connectSeconds: s.nullable(s.num({ min: 0, max: 1e7 })),
  connectRate: s.object({ mean: s.num({ min: 0, max: 1e9 }), peak: s.num({ min: 0, max: 1e9 }) }),
  messagesSent: count(),
  messagesStored: count(),
  lost: count(),
  duplicates: count(),
  messagesPerSecond: s.num({ min: 0, max: 1e9 }),
  latencyMs: latencySchema,
  ackLatencyMs: latencySchema,
  /**
   * The simulator's own event-loop delay over the measured window, the worst worker's, in ms: when it is not small
   * beside the latencies, the simulator's CPU, not the server, set them.
   */
  simulatorLoopDelayMs: s.optional(s.object({ p99: ms(), max: ms() })),
  /**
   * Telemetry ticks that took no sample because the simulator ran them more than a second late, over the whole run
   * and in the measured window: a window with any did not hold the interval.
   */
  samplesSkipped: s.optional(s.object({ run: count(), window: count() })),
  errors: counts(),
  disconnects: count(),
  exposureReports: s.object({ sent: count(), stored: count() }),
  commandAcks: counts(),
  memory: s.object({ simulatorRssBytes: count(), perDeviceBytes: count(), serverRssBytes: s.optional(count()) }),
  reconnectSeconds: s.optional(s.nullable(s.num({ min: 0, max: 1e7 }))),
  reconnectPeakRate: s.optional(s.num({ min: 0, max: 1e9 })),
  outageMs: s.optional(count()),
  attempts: s.optional(counts()),
  denied: s.optional(counts()),
  audited: s.optional(counts()),
  /** Latency by phase of the scenario (attack: baseline, attack), server rows and PUBACKs. */
  phases: s.optional(
    s.record(/^[a-z0-9-]{1,40}$/, s.object({ latencyMs: latencySchema, ackLatencyMs: latencySchema }), { maxKeys: 20 }),
  ),
  /** The rollout scenario: what the server's rollout did with the fleet. */
  rollout: s.optional(
    s.object({
      id: count(),
      releaseId: s.str({ pattern: /^[0-9a-f]{64}$/, maxLength: 64 }),
      /** running | paused | halted | aborted | completed, when the scenario ended. */
      state: s.str({ pattern: /^[a-z]{1,20}$/, maxLength: 20 }),
      /** Devices on the new image (Committed). */
      devicesUpdated: count(),
      /** Devices whose update failed before the switch or rolled back after it. */
      devicesFailed: count(),
      /** Devices in the rollout, and how many were offered the release. */
      devices: count(),
      offered: count(),
      halted: s.bool(),
      haltReason: s.nullable(s.str({ maxLength: 2000 })),
      /** One entry per stage reached: its share, its devices, and when it started and ended (ms since start). */
      stageTimes: s.array(
        s.object({
          stage: count(),
          percent: s.num({ min: 0, max: 100 }),
          devices: count(),
          startedMs: ms(),
          endedMs: s.nullable(ms()),
          seconds: s.nullable(s.num({ min: 0, max: 1e7 })),
        }),
        { maxItems: 20 },
      ),
      /** Outcomes by reason code (FW_PAYLOAD_DIGEST, UPDATE_HEALTH, …). */
      failures: counts(),
    }),
  ),
  invariants: s.array(invariantSchema, { maxItems: 100 }),
  ok: s.bool(),
});

export type SimResult = s.Infer<typeof resultSchema>;
export type Latency = s.Infer<typeof latencySchema>;
export type Invariant = s.Infer<typeof invariantSchema>;

/** Throws SIM_RESULT_INVALID listing every problem: a result that leaves the simulator always has this shape. */
export function checkResult(value: unknown): SimResult {
  const r = s.validate(resultSchema, value);
  if (!r.ok)
    throw new SimulatorError(
      'SIM_RESULT_INVALID',
      `the run result does not match ${RESULT_SCHEMA_ID}: ${s.formatIssues(r.issues)}`,
      { details: { issues: r.issues } },
    );
  return r.value;
}
