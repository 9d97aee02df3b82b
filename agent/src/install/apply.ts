// Applies (or, with --dry-run, prints) install actions. Under a --root folder the system-wide steps (user,
// systemctl, chown) are only reported: they belong to the image's first boot, not to the build machine.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AgentError } from '../errors.js';
import { describeAction, type InstallAction } from './actions.js';
import { onDisk, type InstallLayout } from './layout.js';

/** The host's user database and service manager, injectable for tests. */
export interface SystemOps {
  userIds(user: string): { uid: number; gid: number } | undefined;
  run(argv: readonly string[]): void;
}

export const hostSystem: SystemOps = {
  userIds(user) {
    try {
      const id = (flag: string) =>
        Number(execFileSync('id', [flag, user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { uid: id('-u'), gid: id('-g') };
    } catch {
      return undefined;
    }
  },
  run(argv) {
    try {
      execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      const said = e.stderr?.toString().trim().split('\n').at(-1) ?? e.message;
      throw new AgentError('AGENT_INSTALL', `${argv.join(' ')} failed: ${said}`, { cause: err });
    }
  },
};

export interface ApplyOptions {
  readonly layout: InstallLayout;
  readonly dryRun: boolean;
  readonly say: (line: string) => void;
  readonly system?: SystemOps;
}

function writeAtomic(path: string, content: string | Buffer, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode); // the umask may have narrowed it
  renameSync(tmp, path);
}

export function applyActions(actions: readonly InstallAction[], opts: ApplyOptions): void {
  const { layout, say } = opts;
  const system = opts.system ?? hostSystem;
  const staged = layout.root !== '/';
  const chownTo = (path: string, owner: string | undefined) => {
    if (!owner || staged) return;
    const ids = system.userIds(owner);
    if (!ids) throw new AgentError('AGENT_INSTALL', `user ${owner} does not exist`);
    chownSync(path, ids.uid, ids.gid);
  };
  for (const a of actions) {
    say(describeAction(a, opts.dryRun));
    if (opts.dryRun) continue;
    const where = 'path' in a ? onDisk(layout, a.path) : '';
    try {
      switch (a.kind) {
        case 'create-user':
          if (staged) say(`  skipped under --root: create user ${a.user} on the target`);
          else if (!system.userIds(a.user))
            system.run([
              'useradd',
              '--system',
              '--user-group',
              '--home-dir',
              a.home,
              '--no-create-home',
              '--shell',
              '/usr/sbin/nologin',
              a.user,
            ]);
          break;
        case 'delete-user':
          if (staged) say(`  skipped under --root`);
          else if (system.userIds(a.user)) system.run(['userdel', a.user]);
          break;
        case 'mkdir':
          mkdirSync(where, { recursive: true, mode: a.mode });
          chmodSync(where, a.mode);
          chownTo(where, a.owner);
          break;
        case 'write':
          writeAtomic(where, a.content, a.mode);
          chownTo(where, a.owner);
          break;
        case 'copy':
          mkdirSync(dirname(where), { recursive: true, mode: 0o755 });
          copyFileSync(a.from, `${where}.tmp-${process.pid}`);
          chmodSync(`${where}.tmp-${process.pid}`, a.mode);
          renameSync(`${where}.tmp-${process.pid}`, where);
          chownTo(where, a.owner);
          break;
        case 'remove':
          if (existsSync(where)) rmSync(where, { recursive: a.recursive, force: true });
          break;
        case 'run':
          if (staged) say('  skipped under --root');
          else {
            try {
              system.run(a.argv);
            } catch (err) {
              if (!a.mayFail) throw err;
              say(`  (ignored: ${(err as Error).message})`);
            }
          }
          break;
        default: {
          const unknown: never = a;
          throw new TypeError(`unknown install action ${JSON.stringify(unknown)}`);
        }
      }
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError('AGENT_INSTALL', `${describeAction(a, false)}: ${(err as Error).message}`, { cause: err });
    }
  }
}
