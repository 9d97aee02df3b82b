// The real platform on a Linux gateway: metrics from os, statfs and /sys/class/thermal; actions through the
// configured script hooks (reboot defaults to `systemctl reboot`; relay and thermostat exist only when configured).
import { readFileSync, statfsSync } from 'node:fs';
import { freemem, loadavg, totalmem, uptime } from 'node:os';
import type { HooksConfig } from '../commands/hook-config.js';
import { createHookRunner, type HookRunner } from './hooks.js';
import type { Metrics, Platform } from './types.js';

export const AGENT_VERSION = '0.1.0';

export interface LinuxPlatformOptions {
  /** Folder whose file system is reported as disk usage (the state folder). */
  readonly diskPath: string;
  readonly thermalFile?: string;
  /** Command hooks; without them the platform only reports metrics. */
  readonly hooks?: HooksConfig;
  readonly hookTimeoutMs?: number;
  /** Injected for tests. */
  readonly runHook?: HookRunner;
}

export function createLinuxPlatform(opts: LinuxPlatformOptions): Platform {
  const thermal = opts.thermalFile ?? '/sys/class/thermal/thermal_zone0/temp';
  const run = opts.runHook ?? createHookRunner({ timeoutMs: opts.hookTimeoutMs ?? 30_000 });
  const hooks = opts.hooks;
  const platform: Platform = {
    agentVersion: AGENT_VERSION,
    async readMetrics(): Promise<Metrics> {
      const m: Metrics = {
        cpuLoad1: loadavg()[0] ?? 0,
        memTotalBytes: totalmem(),
        memUsedBytes: totalmem() - freemem(),
        uptimeSeconds: Math.round(uptime()),
      };
      // Synchronous on purpose: two tiny kernel reads, and no libuv thread pool (4 threads, each with its
      // own malloc arena) is started just for them — it costs megabytes of RSS on a small gateway.
      try {
        const fs = statfsSync(opts.diskPath);
        m.diskTotalBytes = fs.blocks * fs.bsize;
        m.diskUsedBytes = (fs.blocks - fs.bfree) * fs.bsize;
      } catch {
        // no disk figures on this platform
      }
      try {
        const milli = Number(readFileSync(thermal, 'utf8').trim());
        if (Number.isFinite(milli)) m.temperatureC = milli / 1000;
      } catch {
        // most VMs have no thermal zone
      }
      return m;
    },
  };
  const { reboot, setRelay, setSetpoint } = hooks ?? {};
  return {
    ...platform,
    ...(reboot ? { reboot: () => run(reboot, {}) } : {}),
    ...(setRelay
      ? {
          setRelay: (channel: number, on: boolean) =>
            run(setRelay, { channel: String(channel), state: on ? 'on' : 'off', on: on ? '1' : '0' }),
        }
      : {}),
    ...(setSetpoint ? { setSetpoint: (celsius: number) => run(setSetpoint, { celsius: String(celsius) }) } : {}),
  };
}
