// The installer for real devices: configured executables (no shell, a time limit, a fixed small environment) do
// the device-specific work — write the payload (on stdin) to the inactive partition, switch the bootloader flag,
// commit, roll back, reboot — and `current` prints the running image as JSON {version, sequence[, slot, trial]}.
// docs/install-gateway.md has an example for a U-Boot A/B gateway.
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { AgentError } from '../errors.js';
import type { ImageMeta, Installer, SlotInfo } from './installer.js';

export interface ScriptInstallerHooks {
  readonly current: readonly string[];
  /** Receives the payload on stdin; must write it to the inactive partition. */
  readonly write: readonly string[];
  /** Optional: receives the verified image's metadata as JSON on stdin (version, sequence, sha256). */
  readonly finish?: readonly string[];
  /** Receives the same JSON; switches the boot flag to the new partition in trial mode. */
  readonly activate: readonly string[];
  readonly commit: readonly string[];
  readonly rollback: readonly string[];
  readonly reboot: readonly string[];
}

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };
const MAX_OUTPUT = 64 * 1024;
const VERSION = /^[0-9A-Za-z.+_-]{1,64}$/;

interface Run {
  readonly stdin: Writable;
  readonly done: Promise<string>;
}

function start(name: string, argv: readonly string[], timeoutMs: number): Run {
  const [program, ...args] = argv;
  // Its own process group, so that a timeout kills what the hook started too (which would hold its pipes open).
  const child = spawn(program!, args, { env: ENV, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true, detached: true });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out.length < MAX_OUTPUT ? (out += d) : undefined));
  child.stderr.on('data', (d: Buffer) => (err.length < MAX_OUTPUT ? (err += d) : undefined));
  child.stdin.on('error', () => {}); // a hook that exits without reading its stdin is judged by its exit code
  const timer = setTimeout(() => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }, timeoutMs);
  const done = new Promise<string>((resolve, reject) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new AgentError('UPDATE_INSTALL', `${name} hook ${program} could not start: ${e.message}`, { cause: e }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(out);
      const said = err.trim().split('\n').at(-1)?.slice(0, 160);
      const how = signal ? `was killed by ${signal} (time limit ${timeoutMs / 1000} s)` : `exited with ${code}`;
      reject(new AgentError('UPDATE_INSTALL', `${name} hook ${program} ${how}${said ? `: ${said}` : ''}`));
    });
  });
  return { stdin: child.stdin, done };
}

async function run(name: string, argv: readonly string[], timeoutMs: number, input?: string): Promise<string> {
  const r = start(name, argv, timeoutMs);
  r.stdin.end(input ?? '');
  return r.done;
}

export function createScriptInstaller(hooks: ScriptInstallerHooks, opts: { timeoutMs: number }): Installer {
  const t = opts.timeoutMs;
  const meta = (m: ImageMeta) => JSON.stringify({ version: m.version, sequence: m.sequence, sha256: m.sha256 });
  return {
    async current(): Promise<SlotInfo> {
      const out = await run('current', hooks.current, t);
      let v: { version?: unknown; sequence?: unknown; slot?: unknown; trial?: unknown };
      try {
        v = JSON.parse(out) as typeof v;
      } catch {
        throw new AgentError('UPDATE_INSTALL', 'the current hook did not print JSON {version, sequence}');
      }
      if (typeof v.version !== 'string' || !VERSION.test(v.version) || !Number.isSafeInteger(v.sequence))
        throw new AgentError('UPDATE_INSTALL', 'the current hook printed no valid {version, sequence}');
      return {
        slot: typeof v.slot === 'string' ? v.slot.slice(0, 32) : 'current',
        version: v.version,
        sequence: v.sequence as number,
        trial: v.trial === true,
      };
    },
    async openInactive() {
      const r = start('write', hooks.write, t);
      let failed: unknown;
      r.done.catch((e: unknown) => (failed = e));
      return {
        async write(chunk) {
          if (failed) throw failed;
          // Copied: the verifier reuses its chunk buffer once we return.
          if (!r.stdin.write(Buffer.from(chunk))) await new Promise((res) => r.stdin.once('drain', res));
        },
        async close() {
          r.stdin.end();
          await r.done;
        },
        async abort() {
          r.stdin.destroy();
          await r.done.catch(() => {});
        },
      };
    },
    finish: async (m) => void (hooks.finish && (await run('finish', hooks.finish, t, meta(m)))),
    activate: async (m) => void (await run('activate', hooks.activate, t, meta(m))),
    commit: async () => void (await run('commit', hooks.commit, t)),
    rollback: async () => void (await run('rollback', hooks.rollback, t)),
    reboot: async () => void (await run('reboot', hooks.reboot, t)),
  };
}
