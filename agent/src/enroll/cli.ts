// iot-agent enroll: get this gateway's certificate with a one-time token (the key is made here).
import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import { isValidDeviceId, parseCli, readRegularText, required, UsageError } from '../../../shared/src/index.js';
import { enroll } from './enroll.js';

const HELP = `iot-agent enroll --server https://HOST:8443 --token T --ca ca.crt --out DIR
                 [--id ID] [--mqtt mqtts://HOST:8883]

Makes a P-256 key on this device (written 0600; it never leaves), sends a certificate signing request with the
one-time enrolment token to the fleet server, checks the certificate it gets back, and writes DIR/device.key,
DIR/device.crt, DIR/ca.crt and a ready DIR/agent.json (then: iot-agent run --config DIR/agent.json).

  --server URL   the fleet server's HTTPS address (its certificate must chain to --ca)
  --token T      a token from \`fleet enroll-token create\`
  --ca FILE      the fleet CA certificate, obtained out of band
  --id ID        the device id (default: this host's name, if it is a valid id)
  --mqtt URL     MQTT address for agent.json (default: what the server announces)

Exit codes: 0 enrolled, 1 refused or failed (the reason is printed), 2 usage error.`;

export function defaultDeviceId(): string | undefined {
  const h = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+/, '')
    .slice(0, 64);
  return isValidDeviceId(h) ? h : undefined;
}

/** --server: an https:// URL (the enrolment endpoint is HTTPS only); anything else is a usage error. */
function serverFlag(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--server ${JSON.stringify(value)} is not a URL; give https://HOST:PORT`);
  }
  if (url.protocol !== 'https:') throw new UsageError(`--server must be an https:// URL, got ${value}`);
  return value;
}

/** --ca: a readable regular file holding a PEM certificate; anything else is a usage error. */
function caFlag(path: string): string {
  let pem: string;
  try {
    pem = readRegularText(path, { maxBytes: 1024 * 1024 });
  } catch (err) {
    throw new UsageError(`--ca ${(err as Error).message}`);
  }
  try {
    new X509Certificate(pem);
  } catch {
    throw new UsageError(`--ca ${path} is not a PEM certificate; give the fleet CA certificate (ca.crt)`);
  }
  return pem;
}

export async function enrollCommand(argv: string[]): Promise<number> {
  const { values } = parseCli(
    argv,
    {
      server: { type: 'string' },
      token: { type: 'string' },
      ca: { type: 'string' },
      out: { type: 'string' },
      id: { type: 'string' },
      mqtt: { type: 'string' },
    },
    HELP,
  );
  const id = values.id ?? defaultDeviceId();
  if (!id || !isValidDeviceId(id))
    throw new UsageError(`--id ${JSON.stringify(id ?? '')} is not a valid device id (^[a-z0-9][a-z0-9-]{2,63}$)`);
  if (values.mqtt !== undefined && !/^mqtts:\/\/[^\s/]+\/?$/.test(values.mqtt))
    throw new UsageError('--mqtt must be mqtts://host:port');
  const server = serverFlag(required(values.server, '--server'));
  const token = required(values.token, '--token');
  const ca = caFlag(required(values.ca, '--ca'));
  const result = await enroll({
    server,
    token,
    ca,
    deviceId: id,
    outDir: required(values.out, '--out'),
    ...(values.mqtt ? { mqtt: values.mqtt } : {}),
  });
  process.stdout.write(
    `enrolled as ${result.deviceId}; certificate valid until ${result.expires}\n` +
      `  key     ${result.files.key}  (0600, made on this device)\n  config  ${result.files.config}  ` +
      `(server ${result.mqtt})\n` +
      `next: iot-agent run --config ${result.files.config}\n`,
  );
  return 0;
}
