// The fleet server with its protections off (no ACL, no per-device rate limits), for bench/broker-throughput to
// measure what they cost. A bench-only entry point: `fleet serve` has no way to start a server like this.
// Run (bundled by bench/lib/unprotected-build.ts): node unprotected-server.js --data DIR --config FILE
//      --mqtt-port N --http-port N
import { parseArgs } from 'node:util';
import { loadFleetConfig } from '../../broker/src/config.js';
import { createFleetServer } from '../../broker/src/server.js';
import { createLogger } from '../../shared/src/index.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    config: { type: 'string' },
    'mqtt-port': { type: 'string' },
    'http-port': { type: 'string' },
    'download-port': { type: 'string' },
  },
});
if (!values.data || !values['mqtt-port'] || !values['http-port'])
  throw new Error('usage: unprotected-server --data DIR [--config FILE] --mqtt-port N --http-port N');
// As `fleet serve --log-level error` does for the protected run: the same defaults otherwise.
const server = await createFleetServer({
  dataDir: values.data,
  host: '127.0.0.1',
  mqttPort: Number(values['mqtt-port']),
  httpPort: Number(values['http-port']),
  downloadPort: Number(values['download-port'] ?? 0),
  config: loadFleetConfig(values.config),
  log: createLogger({ format: 'json', level: 'error', base: { component: 'fleet' } }),
  unprotected: true,
});
await new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});
await server.close();
