// The simulator's public face: what benchmarks, tests and other tools import.
export { createSimulator, type Simulator } from './fleet.js';
export { DEFAULTS, resolveOptions, type SimulatorOptions, type ResolvedOptions } from './options.js';
export { checkResult, resultSchema, RESULT_SCHEMA_ID, type SimResult, type Latency, type Invariant } from './result.js';
export { renderSummary } from './summary.js';
export {
  SCENARIOS,
  getScenario,
  type Scenario,
  type ScenarioContext,
  type ScenarioOutcome,
  type FleetControl,
  type Tick,
} from './scenarios/index.js';
export { ensureIdentities, simIds, simDir, type Identity } from './identities.js';
export { ALL_ACTIONS, type AttackAction } from './attack/playbook.js';
export { SimulatorError, simulatorCodes, type SimulatorCode } from './errors.js';
export { emptyServerView, openServerView, type ServerView, type ServerViewOptions } from './server-view.js';
export { ensureSimOperator, SIM_OPERATOR, simCredentialPath } from './sim-operator.js';
