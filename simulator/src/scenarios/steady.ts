// steady: every device sends telemetry at the interval (and exposure reports now and then) for the duration.
import type { Scenario } from './types.js';

export const steady: Scenario = {
  name: 'steady',
  summary: 'telemetry at the interval, plus exposure reports drawn from a realistic mix of findings',
  async run(ctx) {
    await ctx.sleep(ctx.options.durationMs);
    return { fields: {}, invariants: [] };
  },
};
