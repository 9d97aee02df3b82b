// `iot-agent install` and `iot-agent uninstall`: one command to set a gateway up as a hardened systemd service.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseCli, UsageError } from '../../../shared/src/index.js';
import { isPlainObject } from '../../../shared/src/schema.js';
import { parseAgentConfig, readConfigJson } from '../config.js';
import { AgentError } from '../errors.js';
import { applyActions, type SystemOps } from './apply.js';
import { DEFAULT_USER, installLayout, onDisk } from './layout.js';
import { planInstall, planUninstall } from './plan.js';

export const INSTALL_HELP = `iot-agent install [--config FILE] [--dry-run] [--root DIR]

Installs this agent as a systemd service (run as root):
  - creates the system user ${DEFAULT_USER} (no login, no home folder)
  - copies the device certificate, key (0600, owned by ${DEFAULT_USER}) and CA into /etc/edgeward/
  - writes /etc/edgeward/agent.json (from --config, with paths rewritten and operator keys inline)
  - creates the state folder /var/lib/edgeward (0700, owned by ${DEFAULT_USER})
  - writes the hardened unit /etc/systemd/system/edgeward-agent.service (and a polkit rule so that a signed
    reboot command can reboot), then runs systemctl daemon-reload and systemctl enable --now

Options:
  --config FILE  the agent config to install (default: the installed /etc/edgeward/agent.json)
  --dry-run      print every step and file instead of doing anything (key contents are never printed)
  --root DIR     install under DIR instead of / (image builds, tests): files land in DIR, their contents name
                 the final paths, and user creation and systemctl are skipped
  --user NAME    the service user (default ${DEFAULT_USER})
  --node PATH    node to run the agent with (default: this node, ${process.execPath})
  --agent PATH   the agent bundle to run (default: this file); must not be under /home or /root (ProtectHome)

See docs/install-gateway.md.`;

export const UNINSTALL_HELP = `iot-agent uninstall [--purge] [--dry-run] [--root DIR]

Reverses iot-agent install: stops and disables the service, removes the unit, the polkit rule and
/etc/edgeward. The state folder /var/lib/edgeward (unsent samples, command replay protection) and the user
stay unless --purge is given.`;

export interface InstallIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly system?: SystemOps;
  readonly isRoot?: boolean;
}

const defaultIo: InstallIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

function readRawConfig(file: string): Record<string, unknown> {
  const raw = readConfigJson(file);
  if (!isPlainObject(raw)) throw new AgentError('AGENT_CONFIG_INVALID', `config ${file} is not a JSON object`);
  return raw;
}

function requireRoot(io: InstallIo, what: string): void {
  const root = io.isRoot ?? process.getuid?.() === 0;
  if (!root)
    throw new AgentError(
      'AGENT_INSTALL',
      `${what} changes the system: run it as root (sudo), or use --dry-run or --root DIR`,
    );
}

export async function installCommand(argv: string[], io: InstallIo = defaultIo): Promise<number> {
  const { values } = parseCli(
    argv,
    {
      config: { type: 'string' },
      'dry-run': { type: 'boolean' },
      root: { type: 'string' },
      user: { type: 'string' },
      node: { type: 'string' },
      agent: { type: 'string' },
    },
    INSTALL_HELP,
  );
  const root = resolve(values.root ?? '/');
  const layout = installLayout(root, values.user ?? DEFAULT_USER);
  const dryRun = values['dry-run'] === true;
  const file = values.config ? resolve(values.config) : onDisk(layout, layout.configFile);
  if (!values.config && !existsSync(file))
    throw new UsageError(`--config FILE is required (no ${layout.configFile} is installed yet)`);
  const raw = readRawConfig(file);
  const config = parseAgentConfig(raw, dirname(file));
  for (const [what, path] of [
    ['certificate', config.cert],
    ['key', config.key],
    ['CA certificate', config.ca],
  ] as const) {
    if (!existsSync(path)) throw new AgentError('AGENT_CREDENTIALS', `the device ${what} ${path} does not exist`);
  }
  const node = values.node ?? process.execPath;
  const agent = values.agent ?? realpathSync(process.argv[1] ?? '');
  if (!isAbsolute(node) || !isAbsolute(agent)) throw new UsageError('--node and --agent must be absolute paths');
  if (agent.endsWith('.ts'))
    throw new UsageError(
      `the agent to install is ${agent}, a TypeScript source: run install from the built ` +
        `dist/iot-agent.js, or pass --agent PATH`,
    );
  if (/^\/(home|root)\//.test(agent))
    io.err(
      `warning: ${agent} is under /home or /root, which the unit hides (ProtectHome=yes); install the ` +
        `package globally or under /opt`,
    );
  if (!dryRun && root === '/') requireRoot(io, 'install');

  io.out(
    dryRun
      ? `iot-agent install --dry-run: nothing is written. Install would:`
      : `installing the edgeward agent${root === '/' ? '' : ` under ${root}`}:`,
  );
  applyActions(planInstall({ layout, raw, config, node, agent }), {
    layout,
    dryRun,
    say: io.out,
    ...(io.system ? { system: io.system } : {}),
  });
  if (!dryRun)
    io.out(`done. Check it with: systemctl status ${layout.unitName}; iot-agent status --config ${layout.configFile}`);
  return 0;
}

export async function uninstallCommand(argv: string[], io: InstallIo = defaultIo): Promise<number> {
  const { values } = parseCli(
    argv,
    { purge: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, root: { type: 'string' }, user: { type: 'string' } },
    UNINSTALL_HELP,
  );
  const root = resolve(values.root ?? '/');
  const layout = installLayout(root, values.user ?? DEFAULT_USER);
  const dryRun = values['dry-run'] === true;
  if (!dryRun && root === '/') requireRoot(io, 'uninstall');
  io.out(
    dryRun
      ? `iot-agent uninstall --dry-run: nothing is changed. Uninstall would:`
      : `uninstalling the edgeward agent${root === '/' ? '' : ` under ${root}`}:`,
  );
  applyActions(planUninstall(layout, values.purge === true), {
    layout,
    dryRun,
    say: io.out,
    ...(io.system ? { system: io.system } : {}),
  });
  if (!dryRun && values.purge !== true)
    io.out(`kept ${layout.stateDir} (unsent samples, command replay protection); --purge removes it and the user`);
  return 0;
}
