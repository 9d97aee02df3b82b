// V8 tuning for `iot-agent run`: a long-running, mostly idle process on a gateway with little memory.
// Without the optimizing tiers the agent touches about 5 MB less memory (bench/agent-footprint.ts); its hot
// paths run a few times a second at most, so the interpreter is fast enough (CPU stays well under 1 %).
import { setFlagsFromString } from 'node:v8';

/**
 * Flags for the node that runs the agent (the systemd unit's ExecStart): they must be given at start-up. A young
 * generation of 1 MB instead of up to 16 MB (each of its three spaces) keeps the agent's RSS flat when a large
 * firmware bundle streams through it: about 75 MB at the peak of a 64 MiB update instead of about 100 MB, at the
 * same speed (bench/firmware-update.ts).
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/** Applies the flags; set EDGEWARD_V8_FULL_JIT=1 to keep V8's defaults. Only the CLI's `run` calls this. */
export function tuneForFootprint(env: NodeJS.ProcessEnv = process.env): void {
  if (env.EDGEWARD_V8_FULL_JIT === '1') return;
  // Both flags are read when V8 decides to tier up a function, so setting them at start-up takes effect.
  setFlagsFromString('--no-opt');
  setFlagsFromString('--no-sparkplug');
}
