// The real platform on a Linux gateway: metrics from os, statfs and /sys/class/thermal.
import { readFile, statfs } from 'node:fs/promises';
import { freemem, loadavg, totalmem, uptime } from 'node:os';
import type { Metrics, Platform } from './types.js';

export const AGENT_VERSION = '0.1.0';

export interface LinuxPlatformOptions {
  /** Folder whose file system is reported as disk usage (the state folder). */
  readonly diskPath: string;
  readonly thermalFile?: string;
}

export function createLinuxPlatform(opts: LinuxPlatformOptions): Platform {
  const thermal = opts.thermalFile ?? '/sys/class/thermal/thermal_zone0/temp';
  return {
    agentVersion: AGENT_VERSION,
    async readMetrics(): Promise<Metrics> {
      const m: Metrics = {
        cpuLoad1: loadavg()[0] ?? 0,
        memTotalBytes: totalmem(),
        memUsedBytes: totalmem() - freemem(),
        uptimeSeconds: Math.round(uptime()),
      };
      try {
        const fs = await statfs(opts.diskPath);
        m.diskTotalBytes = fs.blocks * fs.bsize;
        m.diskUsedBytes = (fs.blocks - fs.bfree) * fs.bsize;
      } catch {
        // no disk figures on this platform
      }
      try {
        const milli = Number((await readFile(thermal, 'utf8')).trim());
        if (Number.isFinite(milli)) m.temperatureC = milli / 1000;
      } catch {
        // most VMs have no thermal zone
      }
      return m;
    },
  };
}
