// fleet serve: runs the fleet server until SIGINT/SIGTERM.
import { createLogger, parseCli, parsePositiveInt, required, UsageError } from '../../../shared/src/index.js';
import { createFleetServer, DEFAULT_HTTP_PORT, DEFAULT_MQTT_PORT } from '../server.js';

const HELP = `fleet serve --data DIR [--mqtt-port 8883] [--http-port 8443] [--host 127.0.0.1] [--log-format json|pretty]

Runs the fleet server: the MQTT broker over mutual TLS (devices need a certificate from the fleet CA)
and the HTTPS endpoint (/healthz). Logs are JSON lines on stderr. Ctrl-C or SIGTERM stops it cleanly.`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, {
    data: { type: 'string' },
    'mqtt-port': { type: 'string' },
    'http-port': { type: 'string' },
    host: { type: 'string' },
    'log-format': { type: 'string' },
    'log-level': { type: 'string' },
  }, HELP);
  const format = values['log-format'] ?? 'json';
  if (format !== 'json' && format !== 'pretty') throw new UsageError('--log-format must be json or pretty');
  const level = values['log-level'] ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError('--log-level must be debug, info, warn or error');
  const log = createLogger({ format, level: level as 'info', base: { component: 'fleet' } });
  const server = await createFleetServer({
    dataDir: required(values.data, '--data'),
    host: values.host ?? '127.0.0.1',
    mqttPort: parsePositiveInt(values['mqtt-port'], '--mqtt-port', DEFAULT_MQTT_PORT),
    httpPort: parsePositiveInt(values['http-port'], '--http-port', DEFAULT_HTTP_PORT),
    log,
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await server.close();
  return 0;
}
