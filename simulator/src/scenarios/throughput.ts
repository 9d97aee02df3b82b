// throughput: every device keeps its outbox full and publishes one sample per message as fast as the server
// acknowledges (QoS 1). The load generator of bench/broker-throughput.
import type { Scenario } from './types.js';

export const throughput: Scenario = {
  name: 'throughput',
  summary: 'each device publishes as fast as the server acknowledges (load generator for benchmarks)',
  throughput: true,
  async run(ctx) {
    await ctx.sleep(ctx.options.durationMs);
    return { fields: {}, invariants: [] };
  },
};
