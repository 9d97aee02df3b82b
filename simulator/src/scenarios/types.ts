// The scenario module interface: what a scenario gets from the simulator and what it gives back. A new
// scenario (a firmware rollout, once updates exist) is one file implementing Scenario, listed in scenarios/index.ts.
import type { FirmwareVerdict } from '../firmware-gate.js';
import type { RolloutControl } from '../rollout-control.js';
import type { Identity } from '../identities.js';
import type { Invariant, SimResult } from '../result.js';
import type { RunMaterials } from '../attack/materials.js';
import type { ServerView } from '../server-view.js';
import type { ResolvedOptions } from '../options.js';

/** One second of the run, as the coordinator aggregated it from every pool. */
export interface Tick {
  readonly at: number;
  readonly connected: number;
  /** New connections in the last second. */
  readonly connectsPerSecond: number;
  readonly ackedPerSecond: number;
}

export interface FleetControl {
  /** Honest device ids, in fleet order. */
  readonly ids: readonly string[];
  connected(): number;
  /** Cumulative counts over every pool, as of the last reports (one a second per pool). */
  totals(): { readonly connected: number; readonly connects: number; readonly disconnects: number };
  /** Resolves with the ms waited once `n` devices are connected at once, or null after `timeoutMs`. */
  waitConnected(n: number, timeoutMs: number): Promise<number | null>;
  /** Cuts every device connection at the proxy and refuses new ones for `ms` (scenarios with viaProxy). */
  cut(ms: number): void;
  /** Restarts the fleet server, when the simulator was given a way to (library option restartServer). */
  readonly restartServer: (() => Promise<void>) | undefined;
  /** Hands a firmware bundle to a virtual device's firmware gate. */
  offerFirmware(deviceId: string, bundle: Uint8Array): Promise<FirmwareVerdict>;
  /** Starts a named latency phase: acknowledged samples from now on also count towards it. */
  phase(name: string): void;
  onTick(cb: (t: Tick) => void): () => void;
}

export interface ScenarioContext {
  readonly options: ResolvedOptions;
  readonly fleet: FleetControl;
  readonly server: ServerView;
  /** Writes to the fleet database (the command queue); opened on demand, closed by the simulator. */
  readonly dataDir: string;
  readonly materials: RunMaterials;
  /** rollout: where releases are published and rollouts made (rollout-control.ts); closed by the simulator. */
  readonly rollout?: RolloutControl;
  /** Rogue identities issued for this scenario (Scenario.rogues). */
  readonly rogues: readonly Identity[];
  readonly serverHost: string;
  readonly serverPort: number;
  /** Waits, but returns false at once when the run is being stopped. */
  sleep(ms: number): Promise<boolean>;
  readonly signal: AbortSignal;
  /** A line for the operator (printed between progress lines). */
  note(line: string): void;
}

/** Fields a scenario adds to the result, and the invariants the run is judged by. */
export interface ScenarioOutcome {
  readonly fields: Partial<
    Pick<
      SimResult,
      'reconnectSeconds' | 'reconnectPeakRate' | 'outageMs' | 'attempts' | 'denied' | 'audited' | 'rollout'
    >
  >;
  readonly invariants: readonly Invariant[];
  /** Latency phases by device time, for the server-side split (attack: baseline vs attack). */
  readonly phases?: readonly { readonly name: string; readonly from: number; readonly to: number }[];
}

export interface Scenario {
  readonly name: string;
  readonly summary: string;
  /** Devices connect through the cutting proxy. */
  readonly viaProxy?: (o: ResolvedOptions) => boolean;
  /** Devices keep their outbox full and publish as fast as the server acknowledges. */
  readonly throughput?: boolean;
  /** Rogue identities to issue before the run. */
  readonly rogues?: (o: ResolvedOptions) => number;
  /** Runs the measured part, from "every device connected" for o.durationMs. */
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
  /** Outcome fields that depend on the server's final counts (after the drain). */
  finish?(ctx: ScenarioContext, outcome: ScenarioOutcome): ScenarioOutcome;
}
