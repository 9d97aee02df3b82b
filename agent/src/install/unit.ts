// The hardened systemd unit of the agent (systemd.exec(5)): its own user, no capabilities, a read-only system
// with only the state folder writable, and a system-call and address-family allow-list.
import { AGENT_NODE_FLAGS } from '../footprint.js';
import type { InstallLayout } from './layout.js';

export interface UnitOptions {
  readonly layout: InstallLayout;
  /** Absolute path of node. */
  readonly node: string;
  /** Absolute path of the agent bundle (dist/iot-agent.js). */
  readonly agent: string;
}

/** systemd quoting: an argument with spaces or quotes is double-quoted with escapes. */
function quote(arg: string): string {
  return /^[A-Za-z0-9/_.,:@%+=-]+$/.test(arg) ? arg : `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function renderUnit(o: UnitOptions): string {
  const { layout } = o;
  const exec = [o.node, ...AGENT_NODE_FLAGS, o.agent, 'run', '--config', layout.configFile].map(quote).join(' ');
  return `# Installed by iot-agent install; removed by iot-agent uninstall. See docs/install-gateway.md.
[Unit]
Description=edgeward gateway agent
Documentation=https://github.com/edgeward/edgeward/blob/main/docs/install-gateway.md
Wants=network-online.target
After=network-online.target time-sync.target

[Service]
Type=simple
User=${layout.user}
Group=${layout.user}
ExecStart=${exec}
Restart=always
RestartSec=5
# SIGTERM lets the agent flush its outbox state and say "offline"; it needs a few seconds at most.
TimeoutStopSec=20
UMask=0077

# Files: the whole system read-only, no home folders, a private /tmp; only the state folder is writable.
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateMounts=yes
ReadWritePaths=${layout.stateDir}

# Privileges: no capabilities at all, and none can be gained (setuid, file capabilities).
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictNamespaces=yes
RemoveIPC=yes

# Kernel and host: nothing to tune, load, log, set or rename.
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes

# Devices: only the pseudo-devices, plus GPIO chips for relay hooks (gpioset).
DevicePolicy=closed
DeviceAllow=char-gpiochip rw

# Network: IP for MQTT, Unix sockets for systemctl/D-Bus, netlink for the interface list of the scanner.
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
# MemoryDenyWriteExecute stays off: V8's JIT needs writable, executable memory.

[Install]
WantedBy=multi-user.target
`;
}

/** Lets the agent's user ask logind for a reboot (the default reboot hook is `systemctl reboot`). */
export function renderPolkitRule(user: string): string {
  return `// Installed by iot-agent install: the edgeward agent may reboot the gateway
// when a signed reboot command says so.
polkit.addRule(function (action, subject) {
  if ((action.id === "org.freedesktop.login1.reboot" ||
       action.id === "org.freedesktop.login1.reboot-multiple-sessions") &&
      subject.user === "${user}") {
    return polkit.Result.YES;
  }
});
`;
}
