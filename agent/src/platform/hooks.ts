// Runs a configured hook: execFile (never a shell), a time limit, a small fixed environment, and arguments
// built only from validated parameters. A non-zero exit, a signal or a timeout is AGENT_HOOK_FAILED.
import { execFile } from 'node:child_process';
import { expandHook } from '../commands/hook-config.js';
import { AgentError } from '../errors.js';

export type HookRunner = (argv: readonly string[], values: Readonly<Record<string, string>>) => Promise<void>;

/** Values must look like what the registry allows (numbers, on/off): defence in depth against injection. */
const SAFE_VALUE = /^[A-Za-z0-9.+-]{1,32}$/;

export function createHookRunner(opts: { timeoutMs: number }): HookRunner {
  return (argv, values) => {
    for (const [k, v] of Object.entries(values)) {
      if (!SAFE_VALUE.test(v))
        return Promise.reject(
          new AgentError('AGENT_HOOK_FAILED', `refusing to pass ${k}=${JSON.stringify(v.slice(0, 40))} to a hook`),
        );
    }
    const [program, ...args] = expandHook(argv, values);
    return new Promise<void>((resolve, reject) => {
      execFile(
        program!,
        args,
        {
          timeout: opts.timeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: 64 * 1024,
          windowsHide: true,
          env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
        },
        (err, _stdout, stderr) => {
          if (!err) return resolve();
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: number | string };
          const how = e.killed
            ? `timed out after ${opts.timeoutMs / 1000} s`
            : typeof e.code === 'number'
              ? `exited with ${e.code}`
              : e.signal
                ? `was killed by ${e.signal}`
                : `could not start (${e.code ?? e.message})`;
          const said = String(stderr).trim().split('\n').at(-1)?.slice(0, 160);
          reject(
            new AgentError('AGENT_HOOK_FAILED', `hook ${program} ${how}${said ? `: ${said}` : ''}`, { cause: err }),
          );
        },
      );
    });
  };
}
