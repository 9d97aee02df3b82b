// A fake platform for the simulator and tests: plausible, deterministic metrics and a record of what was asked.
import type { Metrics, Platform } from './types.js';
import { AGENT_VERSION } from './linux.js';

export interface FakePlatform extends Platform {
  readonly calls: string[];
}

export function createFakePlatform(seed = 1, opts: { firmwareVersion?: string } = {}): FakePlatform {
  let state = seed >>> 0 || 1;
  const rnd = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const started = Date.now();
  return {
    agentVersion: AGENT_VERSION,
    ...(opts.firmwareVersion ? { firmwareVersion: opts.firmwareVersion } : {}),
    calls: [],
    async readMetrics(): Promise<Metrics> {
      return {
        cpuLoad1: Math.round(rnd() * 200) / 100,
        memTotalBytes: 1024 * 1024 * 1024,
        memUsedBytes: Math.round((0.3 + rnd() * 0.4) * 1024 * 1024 * 1024),
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        diskTotalBytes: 32 * 1024 ** 3,
        diskUsedBytes: Math.round((0.2 + rnd() * 0.1) * 32 * 1024 ** 3),
        temperatureC: Math.round((40 + rnd() * 20) * 10) / 10,
      };
    },
  };
}
