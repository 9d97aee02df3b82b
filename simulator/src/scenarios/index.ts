// The scenario registry: every name `fleet-sim run --scenario NAME` accepts. A new scenario is one module
// implementing Scenario (types.ts), added to this list.
import { UsageError } from '../../../shared/src/index.js';
import { attack } from './attack.js';
import { reconnectStorm } from './reconnect-storm.js';
import { rollout } from './rollout.js';
import { steady } from './steady.js';
import { throughput } from './throughput.js';
import type { Scenario } from './types.js';

export const SCENARIOS: readonly Scenario[] = [steady, reconnectStorm, attack, throughput, rollout];

export function scenarioHelp(): string {
  return SCENARIOS.map((s) => `  ${s.name.padEnd(16)} ${s.summary}`).join('\n');
}

/** The scenario of this name; a usage error for an unknown one. */
export function getScenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new UsageError(`unknown scenario ${JSON.stringify(name)}; choose one of:\n${scenarioHelp()}`);
  return s;
}

export type { Scenario, ScenarioContext, ScenarioOutcome, FleetControl, Tick } from './types.js';
