// iot-agent enroll: get this gateway's certificate with a one-time token (the key is made here).
import { hostname } from 'node:os';
import { isValidDeviceId, parseCli, required, UsageError } from '../../../shared/src/index.js';
import { enroll, readCa } from './enroll.js';

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
  const result = await enroll({
    server: required(values.server, '--server'),
    token: required(values.token, '--token'),
    ca: readCa(required(values.ca, '--ca')),
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
