// rollout: a staged firmware rollout across the virtual fleet. Not available until firmware updates exist.
//
// Extension point, for when the update channel (fleet/v1/{id}/update) and the agent's update state machine land:
//   1. The virtual device already has a firmware gate (firmware-gate.ts) that verifies every offered bundle
//      against its trust state with the real verifier; wire the agent's update offers to it (or replace it with
//      the agent's own state machine on the fake platform).
//   2. Implement run() below: create a release with firmware-tools (createBundle with ctx.materials'
//      firmwareRelease key), start a rollout through the server (waves, failure threshold), and follow the
//      devices' update/status messages in the server's database (ctx.server) until every wave is done.
//   3. Add the result fields (e.g. updated, failed, rolledBack, waveSeconds) to result.ts and their
//      invariants (a bad wave halts the rollout; no device ends on an unverified image).
import type { Scenario } from './types.js';

export const rollout: Scenario = {
  name: 'rollout',
  summary: 'staged firmware rollout (not available until firmware updates exist)',
  unavailable:
    'the rollout scenario is not available until firmware updates (update channel and agent update state machine) ' +
    'exist; see the extension point in simulator/src/scenarios/rollout.ts',
  async run() {
    throw new Error('rollout is not available');
  },
};
