// fleet serve: runs the fleet server until SIGINT/SIGTERM.
import { createLogger, parseCli, parsePort, required, UsageError } from '../../../shared/src/index.js';
import { loadFleetConfig } from '../config.js';
import type { FleetError } from '../errors.js';
import { DEFAULT_DOWNLOAD_PORT } from '../http/downloads.js';
import { createFleetServer, DEFAULT_HTTP_PORT, DEFAULT_MQTT_PORT } from '../server.js';
import type { UpstreamConfig } from '../mqtt/transport.js';
import { type ClusterOptions, NODE_ID_PATTERN } from '../cluster/index.js';
import { readInputText } from './file-args.js';
import { folderKey, STORAGE_KEY_HELP, STORAGE_KEY_OPTION } from './storage-key.js';

/** --upstream and its three files, all or none: the backend then connects to that broker instead of listening. */
function upstreamOf(values: Record<string, string | boolean | undefined>): UpstreamConfig | undefined {
  const url = values.upstream as string | undefined;
  const files = ['upstream-cert', 'upstream-key', 'upstream-ca'] as const;
  if (url === undefined) {
    const stray = files.find((f) => values[f] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --upstream mqtts://HOST:PORT`);
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--upstream must be an mqtts://HOST:PORT address, got ${url}`);
  }
  if (
    parsed.protocol !== 'mqtts:' ||
    parsed.username ||
    parsed.password ||
    (parsed.pathname && parsed.pathname !== '/')
  )
    throw new UsageError(`--upstream must be an mqtts://HOST:PORT address (TLS, no credentials), got ${url}`);
  const read = (flag: (typeof files)[number]) => {
    const path = values[flag] as string | undefined;
    if (path === undefined) throw new UsageError(`--upstream needs --${flag} FILE`);
    return Buffer.from(readInputText(path, `--${flag} names a PEM file`));
  };
  return { url, cert: read('upstream-cert'), key: read('upstream-key'), ca: read('upstream-ca') };
}

const env = (name: string) => (process.env[name] ? process.env[name] : undefined);

/** --cluster with --redis and --node-id (and --postgres, passed through), all checked here; none without --cluster. */
function clusterOf(values: Record<string, string | boolean | undefined>): ClusterOptions | undefined {
  const flags = ['redis', 'node-id', 'postgres'] as const;
  if (!values.cluster) {
    const stray = flags.find((f) => values[f] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --cluster`);
    return undefined;
  }
  // The environment keeps a password off the command line, which every local user can read.
  const redisUrl = (values.redis as string | undefined) ?? env('EDGEWARD_REDIS_URL');
  const nodeId = values['node-id'] as string | undefined;
  if (redisUrl === undefined) throw new UsageError('--cluster needs --redis redis://HOST:PORT');
  if (!/^rediss?:\/\/[^\s]+$/.test(redisUrl)) throw new UsageError('--redis must be a redis:// or rediss:// address');
  if (nodeId === undefined) throw new UsageError('--cluster needs --node-id ID');
  if (!NODE_ID_PATTERN.test(nodeId)) throw new UsageError('--node-id must be 1 to 32 of a-z, 0-9 and -');
  const postgres = (values.postgres as string | undefined) ?? env('EDGEWARD_POSTGRES_URL');
  if (postgres !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(postgres))
    throw new UsageError('--postgres must be a postgres:// address');
  return { redisUrl, nodeId, ...(postgres !== undefined ? { postgresUrl: postgres } : {}) };
}

/** An https:// URL without a query or fragment: bundle paths are appended to it. */
function publicDownloadUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--public-download-url must be an https:// URL, got ${text}`);
  }
  if (url.protocol !== 'https:' || url.search || url.hash || url.username || url.password) {
    throw new UsageError(`--public-download-url must be an https:// URL without query or credentials, got ${text}`);
  }
  return url.href.replace(/\/+$/, '');
}

const HELP = `fleet serve --data DIR [--config FILE] [--mqtt-port 8883] [--http-port 8443] [--download-port 8444]
            [--host 127.0.0.1] [--public-mqtt-url mqtts://host:8883] [--public-download-url https://host:8444]
            [--log-format json|pretty] [--log-level info] [--init-empty-db] [--token-key PKCS11-URI]
            [--upstream mqtts://HOST:PORT --upstream-cert FILE --upstream-key FILE --upstream-ca FILE]
            [--cluster --redis redis://HOST:6379 --node-id ID [--postgres postgres://…]]

Runs the fleet server: the MQTT broker over mutual TLS (devices need a certificate from the fleet CA, are
confined to their own topics and rate-limited per device type) and the HTTPS endpoint: the web dashboard at /
(fleet dashboard link), the operator API under /api/v1, /healthz, /readyz, /metrics (Prometheus) and POST /v1/enroll.
Logs are JSON lines on stderr. Ctrl-C or SIGTERM stops it cleanly. A port of 0 lets the kernel choose a free one;
the "fleet server listening" log line names the ports taken.

  --config FILE         JSON server configuration (limits, per-device-type rates, audit thresholds);
                        see docs/fleet-config.md. Every problem in it is listed at once.
  --public-mqtt-url     the MQTT address told to enrolling devices (default: mqtts://HOST:MQTT-PORT)
  --download-port       the device download listener (mutual TLS): devices fetch firmware bundles there with
                        the token of their rollout
  --public-download-url the address devices download from, put in update offers (default:
                        https://HOST:DOWNLOAD-PORT)
  --init-empty-db       the folder's database was lost and no backup is to be restored: start with an empty one
                        (every device must be registered again). Without it such a folder is refused.
  --token-key URI       sign the operator API's tokens with an Ed25519 key inside a hardware security module
                        (an RFC 7512 PKCS#11 URI, quoted; see docs/hsm.md) instead of the daily database keys
  --upstream URL        do not listen for devices: connect to this MQTT broker (mosquitto, EMQX, …) as a client,
                        with the certificate, key and CA of the three --upstream-* files (PEM). Devices connect to
                        that broker; messages must be sealed whatever the config says. See docs/upstream-broker.md.
  --cluster             run as one node of a cluster behind a TCP load balancer (docs/cluster.md): routing,
                        retained messages and device sessions are shared in Redis (--redis), revocations and
                        takeovers reach every node over it. --node-id names this node (a-z, 0-9, -; up to 32),
                        in logs and as the node label of /metrics. --postgres puts the device plane (admission,
                        ingest, online flags, security events, commands) in that shared store; the rest stays in
                        the data folder (docs/cluster.md, "What is shared and what is not yet"). EDGEWARD_REDIS_URL
                        and EDGEWARD_POSTGRES_URL stand for --redis and --postgres (passwords stay off the command
                        line).

${STORAGE_KEY_HELP}`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    {
      data: { type: 'string' },
      'mqtt-port': { type: 'string' },
      'http-port': { type: 'string' },
      'download-port': { type: 'string' },
      'public-download-url': { type: 'string' },
      host: { type: 'string' },
      'log-format': { type: 'string' },
      'log-level': { type: 'string' },
      config: { type: 'string' },
      'public-mqtt-url': { type: 'string' },
      'init-empty-db': { type: 'boolean' },
      ...STORAGE_KEY_OPTION,
      'token-key': { type: 'string' },
      upstream: { type: 'string' },
      'upstream-cert': { type: 'string' },
      'upstream-key': { type: 'string' },
      'upstream-ca': { type: 'string' },
      cluster: { type: 'boolean' },
      redis: { type: 'string' },
      'node-id': { type: 'string' },
      postgres: { type: 'string' },
    },
    HELP,
  );
  const config = loadFleetConfig(values.config);
  const upstream = upstreamOf(values);
  const cluster = clusterOf(values);
  if (cluster && upstream) throw new UsageError('--cluster and --upstream do not go together');
  const format = values['log-format'] ?? 'json';
  if (format !== 'json' && format !== 'pretty') throw new UsageError('--log-format must be json or pretty');
  const level = values['log-level'] ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    throw new UsageError('--log-level must be debug, info, warn or error');
  const log = createLogger({ format, level: level as 'info', base: { component: 'fleet' } });
  // A failed database stops the server (it logs why); the command then ends with that error's code, exit 1.
  let failure: FleetError | undefined;
  let stopNow: (() => void) | undefined;
  const dataDir = required(values.data, '--data');
  const storageKey = folderKey(dataDir, values['storage-key']);
  // The handlers come first: a SIGTERM sent as soon as the server logs that it listens (a supervisor, a test) must
  // stop it cleanly, not kill it by the default action. A signal during start-up stops it once it has started.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    stopNow?.();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  const server = await createFleetServer({
    dataDir,
    storageKey,
    host: values.host ?? '127.0.0.1',
    mqttPort: parsePort(values['mqtt-port'], '--mqtt-port', DEFAULT_MQTT_PORT, true),
    httpPort: parsePort(values['http-port'], '--http-port', DEFAULT_HTTP_PORT, true),
    downloadPort: parsePort(values['download-port'], '--download-port', DEFAULT_DOWNLOAD_PORT, true),
    log,
    config,
    ...(values['public-mqtt-url'] ? { publicMqttUrl: values['public-mqtt-url'] } : {}),
    ...(values['public-download-url'] ? { publicDownloadUrl: publicDownloadUrl(values['public-download-url']) } : {}),
    ...(values['init-empty-db'] ? { initEmptyDb: true } : {}),
    ...(values['token-key'] !== undefined ? { tokenKeyUri: values['token-key'] } : {}),
    ...(upstream ? { upstream } : {}),
    ...(cluster ? { cluster } : {}),
    onFatal: (err) => {
      failure = err;
      stopNow?.();
    },
  });
  await new Promise<void>((resolve) => {
    stopNow = resolve;
    if (failure || stopping) resolve();
  });
  await server.close();
  if (failure) throw failure;
  return 0;
}
