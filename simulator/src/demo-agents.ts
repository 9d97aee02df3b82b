// The demo's agents (`fleet-sim demo`, on one server or a local cluster): real agents on fake platforms, in this
// process, each reporting a realistic exposure scan and trusting the demo's operator key for commands.
import { join } from 'node:path';
import { createAgent, createFakePlatform, parseAgentConfig, type Agent } from '../../agent/src/index.js';
import { sampleReport } from '../../agent/src/scan/index.js';
import { encode, type Logger } from '../../shared/src/index.js';
import { seededRng } from './rng.js';

/** The demo's real agents on fake platforms, each reporting a realistic exposure scan, trusting the operator key. */
export async function startDemoAgents(d: {
  ids: readonly string[];
  /** The device's folder: device.key/crt, ca.crt, seal.key, backend-seal.pub. */
  dirOf: (id: string) => string;
  /** One server URL, or several (an agent picks one and fails over). */
  server: string | string[];
  /** The operator public key (PEM file) the agents trust for commands. */
  operatorPub: string;
  interval: number;
  log: Logger;
}): Promise<Agent[]> {
  const agents: Agent[] = [];
  for (const [i, id] of d.ids.entries()) {
    const dir = d.dirOf(id);
    const config = parseAgentConfig({
      server: d.server,
      deviceId: id,
      cert: join(dir, 'device.crt'),
      key: join(dir, 'device.key'),
      ca: join(dir, 'ca.crt'),
      seal: { key: join(dir, 'seal.key'), backendKey: join(dir, 'backend-seal.pub') },
      stateDir: join(dir, 'state'),
      telemetryIntervalSeconds: d.interval,
      operators: [{ name: 'demo-operator', publicKey: d.operatorPub, allow: ['*'] }],
    });
    // Each fake gateway reports a realistic exposure scan (the real scanner would probe this machine instead).
    const rng = seededRng(i + 1);
    agents.push(
      await createAgent({
        config,
        platform: createFakePlatform(i + 1),
        log: d.log.child({ deviceId: id }),
        scanner: async () => encode(sampleReport(id, rng)),
        scanIntervalMs: 3600_000,
      }),
    );
  }
  return agents;
}

/**
 * The demo's status line until Ctrl-C (SIGINT or SIGTERM): devices online and samples stored, as `read` counts them.
 * On a terminal one line is redrawn every second; in a log, a line every ten seconds. A failed read is logged.
 */
export async function statusUntilStopped(
  devices: number,
  read: () => Promise<{ online: number; samples: number }>,
  log: Logger,
): Promise<void> {
  const tty = process.stdout.isTTY === true;
  const tick = async () => {
    const { online, samples } = await read();
    const line =
      `${new Date().toISOString().slice(11, 19)}  devices online ${String(online).padStart(3)}/${devices}` +
      `  samples stored ${samples}`;
    process.stdout.write(tty ? `\r${line}   ` : `${line}\n`);
  };
  const ticker = setInterval(
    () => void tick().catch((err: Error) => log.warn('demo status not read', { error: err })),
    tty ? 1000 : 10_000,
  );
  await new Promise<void>((res) => {
    process.once('SIGINT', res);
    process.once('SIGTERM', res);
  });
  clearInterval(ticker);
}
