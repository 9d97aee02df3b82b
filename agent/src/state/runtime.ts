// The runtime record: what `iot-agent status` shows about a running (or crashed) agent — connection state,
// last report times and versions — kept in the state folder so status works without talking to the agent.
import { readFileSync } from 'node:fs';
import type { OutboxStore } from '../outbox/index.js';

export interface RuntimeRecord {
  readonly pid: number;
  /** boot id + process start time: tells a live agent from a reused pid (null off Linux). */
  readonly identity: string | null;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly stoppedAt: number | null;
  readonly server: string;
  readonly connected: boolean;
  readonly connectedSince: number | null;
  readonly agentVersion: string;
  readonly firmwareVersion: string | null;
  readonly telemetryIntervalSeconds: number;
  readonly lastTelemetryAckAt: number | null;
  readonly lastMessageAckAt: number | null;
  readonly lastCommandAt: number | null;
}

export const RUNTIME_KEY = 'runtime';

/** `bootid:starttime` of a process, from /proc; null when /proc cannot tell (not Linux, or gone). */
export function processIdentity(pid: number): string | null {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // proc(5): field 22 is starttime; the command name (field 2) may hold spaces and ')', so split after the last ')'.
    const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return start ? `${boot}:${start}` : null;
  } catch {
    return null;
  }
}

/** True when the process that wrote `r` is still the one running under its pid. */
export function isAlive(r: Pick<RuntimeRecord, 'pid' | 'identity' | 'stoppedAt'>): boolean {
  if (r.stoppedAt !== null) return false;
  if (r.identity !== null) return processIdentity(r.pid) === r.identity;
  try {
    process.kill(r.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function parseRuntime(text: string | undefined): RuntimeRecord | undefined {
  if (!text) return undefined;
  try {
    const r = JSON.parse(text) as RuntimeRecord;
    return typeof r === 'object' && r !== null && typeof r.pid === 'number' ? r : undefined;
  } catch {
    return undefined;
  }
}

export interface RuntimeRecorder {
  /** Merges `patch`; writes at once when `force`, otherwise at most every `minIntervalMs` (an SD card wears). */
  update(patch: Partial<RuntimeRecord>, force?: boolean): void;
  /** Writes what is pending and stops the timer. */
  flush(): void;
  readonly current: RuntimeRecord;
}

export function createRuntimeRecorder(opts: {
  outbox: OutboxStore;
  initial: RuntimeRecord;
  now: () => number;
  minIntervalMs?: number;
}): RuntimeRecorder {
  const minInterval = opts.minIntervalMs ?? 10_000;
  let record = opts.initial;
  let writtenAt = 0;
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;

  const write = () => {
    clearTimeout(timer);
    timer = undefined;
    dirty = false;
    writtenAt = opts.now();
    record = { ...record, updatedAt: writtenAt };
    try {
      opts.outbox.setState(RUNTIME_KEY, JSON.stringify(record));
    } catch {
      // the store may already be closed during shutdown; the record is advisory
    }
  };

  return {
    update(patch, force = false) {
      record = { ...record, ...patch };
      dirty = true;
      const wait = writtenAt + minInterval - opts.now();
      if (force || wait <= 0) return write();
      if (!timer) {
        timer = setTimeout(write, wait);
        timer.unref?.();
      }
    },
    flush() {
      if (dirty) write();
      clearTimeout(timer);
      timer = undefined;
    },
    get current() {
      return record;
    },
  };
}
