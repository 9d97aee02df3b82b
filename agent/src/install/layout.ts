// Where the agent is installed on a gateway. `root` prefixes every path that is written (an image build or a
// test installs into a folder); the files' contents always name the final paths.
import { join } from 'node:path';

export interface InstallLayout {
  /** "/" on a gateway; a folder for image builds and tests (--root). */
  readonly root: string;
  readonly user: string;
  readonly etcDir: string;
  readonly configFile: string;
  readonly stateDir: string;
  readonly unitName: string;
  readonly unitFile: string;
  readonly polkitFile: string;
}

export const DEFAULT_USER = 'edgeward';

export function installLayout(root = '/', user = DEFAULT_USER): InstallLayout {
  return {
    root,
    user,
    etcDir: '/etc/edgeward',
    configFile: '/etc/edgeward/agent.json',
    stateDir: '/var/lib/edgeward',
    unitName: 'edgeward-agent.service',
    unitFile: '/etc/systemd/system/edgeward-agent.service',
    polkitFile: '/etc/polkit-1/rules.d/50-edgeward-agent.rules',
  };
}

/** The real location of a final path under the layout's root. */
export const onDisk = (layout: InstallLayout, path: string): string =>
  layout.root === '/' ? path : join(layout.root, path);
