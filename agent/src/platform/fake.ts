// A fake platform for the simulator and tests: plausible, deterministic metrics, every action available,
// and a record of what was asked (`calls`), e.g. "setRelay 3 on".
import type { Metrics, Platform } from './types.js';
import { AGENT_VERSION } from './linux.js';

export interface FakePlatform extends Platform {
  readonly calls: string[];
  /** Relay states and setpoint as the fake world now stands. */
  readonly relays: boolean[];
  readonly setpointC: number | undefined;
  reboot(): Promise<void>;
  setRelay(channel: number, on: boolean): Promise<void>;
  setSetpoint(celsius: number): Promise<void>;
}

export interface FakePlatformOptions {
  readonly firmwareVersion?: string;
  /** Actions that throw (to test "failed" acknowledgements). */
  readonly failing?: readonly ('reboot' | 'setRelay' | 'setSetpoint')[];
}

export function createFakePlatform(seed = 1, opts: FakePlatformOptions = {}): FakePlatform {
  let state = seed >>> 0 || 1;
  const rnd = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const started = Date.now();
  const failing = new Set(opts.failing ?? []);
  const calls: string[] = [];
  const relays = Array.from({ length: 8 }, () => false);
  let setpointC: number | undefined;
  const act = async (name: 'reboot' | 'setRelay' | 'setSetpoint', call: string, effect: () => void) => {
    calls.push(call);
    if (failing.has(name)) throw new Error(`${name} failed (fake platform)`);
    effect();
  };
  return {
    agentVersion: AGENT_VERSION,
    ...(opts.firmwareVersion ? { firmwareVersion: opts.firmwareVersion } : {}),
    calls,
    relays,
    get setpointC() {
      return setpointC;
    },
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
    reboot: () => act('reboot', 'reboot', () => {}),
    setRelay: (channel, on) =>
      act('setRelay', `setRelay ${channel} ${on ? 'on' : 'off'}`, () => void (relays[channel] = on)),
    setSetpoint: (celsius) => act('setSetpoint', `setSetpoint ${celsius}`, () => void (setpointC = celsius)),
  };
}
