// What `iot-agent install` and `uninstall` do, as action lists (docs/install-gateway.md). Pure: reads nothing.
import { basename, join } from 'node:path';
import type { AgentConfig } from '../config.js';
import type { InstallAction } from './actions.js';
import type { InstallLayout } from './layout.js';
import { renderPolkitRule, renderUnit } from './unit.js';

export interface InstallPlanInput {
  readonly layout: InstallLayout;
  /** The config file as the user wrote it (JSON object): its layout and comments-free keys are kept. */
  readonly raw: Record<string, unknown>;
  /** The same config validated (absolute paths, operator keys read). */
  readonly config: AgentConfig;
  readonly node: string;
  readonly agent: string;
}

/** The installed config: credentials and state at their installed places, operator keys inline. */
export function installedConfig(input: InstallPlanInput): Record<string, unknown> {
  const { layout, raw, config } = input;
  return {
    ...raw,
    cert: join(layout.etcDir, 'device.crt'),
    key: join(layout.etcDir, 'device.key'),
    ca: join(layout.etcDir, 'ca.crt'),
    stateDir: layout.stateDir,
    ...(raw.operators !== undefined
      ? { operators: config.operators.map((o) => ({ name: o.name, publicKey: o.publicKey, allow: o.allow })) }
      : {}),
  };
}

/** True when reboot goes through logind (systemctl), which needs the polkit rule for a non-root user. */
function rebootsViaLogind(config: AgentConfig): boolean {
  const hook = config.commands.hooks.reboot;
  return hook !== null && basename(hook[0] ?? '') === 'systemctl';
}

export function planInstall(input: InstallPlanInput): InstallAction[] {
  const { layout, config } = input;
  const { user } = layout;
  const copy = (from: string, name: string, mode: number, owner?: string): InstallAction[] => {
    const path = join(layout.etcDir, name);
    // Re-installing from the installed config: the file is already in place.
    if (layout.root === '/' && from === path) return [];
    return [{ kind: 'copy', from, path, mode, ...(owner ? { owner } : {}) }];
  };
  return [
    { kind: 'create-user', user, home: layout.stateDir },
    { kind: 'mkdir', path: layout.etcDir, mode: 0o755 },
    ...copy(config.ca, 'ca.crt', 0o644),
    ...copy(config.cert, 'device.crt', 0o644),
    // The device key: readable by the agent's user only.
    ...copy(config.key, 'device.key', 0o600, user),
    {
      kind: 'write',
      path: layout.configFile,
      mode: 0o644,
      content: `${JSON.stringify(installedConfig(input), null, 2)}\n`,
    },
    { kind: 'mkdir', path: layout.stateDir, mode: 0o700, owner: user },
    {
      kind: 'write',
      path: layout.unitFile,
      mode: 0o644,
      content: renderUnit({ layout, node: input.node, agent: input.agent }),
    },
    ...(rebootsViaLogind(config)
      ? [{ kind: 'write', path: layout.polkitFile, mode: 0o644, content: renderPolkitRule(user) } as const]
      : []),
    { kind: 'run', argv: ['systemctl', 'daemon-reload'], mayFail: false },
    { kind: 'run', argv: ['systemctl', 'enable', '--now', layout.unitName], mayFail: false },
  ];
}

/** Reverses planInstall. The state folder (unsent samples, replay protection) and the user stay unless `purge`. */
export function planUninstall(layout: InstallLayout, purge: boolean): InstallAction[] {
  return [
    { kind: 'run', argv: ['systemctl', 'disable', '--now', layout.unitName], mayFail: true },
    { kind: 'remove', path: layout.unitFile, recursive: false },
    { kind: 'remove', path: layout.polkitFile, recursive: false },
    { kind: 'run', argv: ['systemctl', 'daemon-reload'], mayFail: true },
    { kind: 'remove', path: layout.etcDir, recursive: true },
    ...(purge
      ? ([
          { kind: 'remove', path: layout.stateDir, recursive: true },
          { kind: 'delete-user', user: layout.user },
        ] as const)
      : []),
  ];
}
