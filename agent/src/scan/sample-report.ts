// Realistic random exposure reports for virtual devices (simulator, dashboards, load tests): services and
// findings drawn from gateway profiles seen in the field, scored with the real formula.
import type { ExposureFinding, ExposureReport, ExposureService } from '../../../shared/src/messages/exposure.js';
import { SENSITIVE_PROTOCOLS } from './checks/exposure.js';
import { finding } from './checks/finding.js';
import { buildReport } from './report.js';
import type { ProbeTarget } from './types.js';

export type Rng = () => number;

interface SampleService {
  readonly port: number;
  readonly transport: 'tcp' | 'udp';
  readonly protocol: string;
  readonly process: string;
  readonly product?: string;
  readonly tls?: boolean;
  /** Chance the service is bound to all interfaces rather than loopback. */
  readonly exposed: number;
  /** Candidate findings: check id, chance, evidence. */
  readonly findings: readonly (readonly [string, number, string])[];
}

const CATALOGUE: readonly SampleService[] = [
  {
    port: 22,
    transport: 'tcp',
    protocol: 'ssh',
    process: 'sshd',
    product: 'OpenSSH_9.2p1 Debian-2+deb12u3',
    exposed: 0.95,
    findings: [['ssh.password-auth', 0.5, 'lists publickey,password after a "none" USERAUTH_REQUEST']],
  },
  {
    port: 1883,
    transport: 'tcp',
    protocol: 'mqtt',
    process: 'mosquitto',
    product: 'mosquitto version 2.0.11',
    exposed: 0.3,
    findings: [
      ['mqtt.anonymous', 0.6, 'CONNACK return code 0 (accepted) to an MQTT 3.1.1 CONNECT without credentials'],
      ['mqtt.wildcard-read', 0.5, 'SUBACK return code 0 (granted QoS 0) to an anonymous SUBSCRIBE to #'],
    ],
  },
  {
    port: 1880,
    transport: 'tcp',
    protocol: 'http',
    process: 'node-red',
    product: 'Node-RED',
    exposed: 0.6,
    findings: [
      [
        'nodered.no-auth',
        0.4,
        'Node-RED editor: GET /flows answered 200 with the flow configuration and no credentials',
      ],
      [
        'http.security-headers',
        0.8,
        'GET / answered 200 without X-Content-Type-Options: nosniff, Content-Security-Policy',
      ],
    ],
  },
  {
    port: 80,
    transport: 'tcp',
    protocol: 'http',
    process: 'lighttpd',
    product: 'lighttpd/1.4.69',
    exposed: 0.8,
    findings: [
      ['http.server-disclosure', 0.7, 'GET / answered with Server: "lighttpd/1.4.69"'],
      [
        'http.default-credentials',
        0.1,
        'GET /admin with Basic admin:admin answered 200 where the same request without credentials got 401',
      ],
      ['http.no-rate-limit', 0.3, 'A burst of 10 failed Basic logins to /admin all answered 401'],
      ['http.directory-listing', 0.1, 'GET / answered 200: a directory listing titled "Index of /"'],
    ],
  },
  {
    port: 443,
    transport: 'tcp',
    protocol: 'http',
    process: 'nginx',
    product: 'nginx',
    tls: true,
    exposed: 0.8,
    findings: [
      ['tls.self-signed', 0.6, 'The certificate (subject CN=gateway) is issued by itself'],
      ['tls.weak-protocol', 0.15, 'completed handshakes limited to TLS 1.0 (ECDHE-RSA-AES256-SHA)'],
    ],
  },
  {
    port: 6379,
    transport: 'tcp',
    protocol: 'redis',
    process: 'redis-server',
    product: 'Redis 7.0.15',
    exposed: 0.15,
    findings: [['redis.no-auth', 0.7, '"+PONG" to an unauthenticated PING (redis_version 7.0.15)']],
  },
  {
    port: 502,
    transport: 'tcp',
    protocol: 'modbus',
    process: 'modbus-gw',
    exposed: 0.5,
    findings: [
      ['modbus.open', 1, 'Modbus/TCP reply (unit 1, function 0x2b) to a read-only Read Device Identification'],
    ],
  },
  {
    port: 23,
    transport: 'tcp',
    protocol: 'telnet',
    process: 'telnetd',
    exposed: 0.9,
    findings: [['telnet.open', 1, 'answers like a Telnet server (IAC option negotiation), banner "login:"']],
  },
  {
    port: 1900,
    transport: 'udp',
    protocol: 'ssdp',
    process: 'minissdpd',
    product: 'Linux UPnP/1.0 MiniUPnPd/2.3',
    exposed: 1,
    findings: [['upnp.open', 1, 'HTTP/1.1 200 to a unicast M-SEARCH']],
  },
];

/** Which services a device of each profile runs, with the chance of each. */
const PROFILES: readonly { readonly weight: number; readonly services: Readonly<Record<number, number>> }[] = [
  { weight: 0.35, services: { 22: 1, 1883: 0.4, 443: 0.3 } }, // hardened: key-only SSH, little else
  // typical maker/industrial gateway
  { weight: 0.45, services: { 22: 1, 1883: 0.9, 1880: 0.7, 80: 0.5, 443: 0.3, 6379: 0.2, 502: 0.2 } },
  // neglected
  { weight: 0.2, services: { 22: 0.8, 23: 0.8, 1883: 1, 1880: 0.5, 80: 0.9, 6379: 0.5, 1900: 0.8, 502: 0.4 } },
];

function pick<T extends { weight: number }>(rng: Rng, items: readonly T[]): T {
  let r = rng();
  for (const it of items) if ((r -= it.weight) < 0) return it;
  return items[items.length - 1]!;
}

export interface SampleOptions {
  readonly now?: number;
  readonly id?: string;
}

/** A valid, realistic exposure report for `deviceId`; the same rng sequence always gives the same report. */
export function sampleReport(deviceId: string, rng: Rng = Math.random, opts: SampleOptions = {}): ExposureReport {
  const profile = pick(rng, PROFILES);
  const services: ExposureService[] = [];
  const findings: ExposureFinding[] = [];
  let pid = 300 + Math.floor(rng() * 500);
  for (const svc of CATALOGUE) {
    const chance = profile.services[svc.port] ?? 0;
    if (rng() >= chance) continue;
    const exposed = rng() < svc.exposed;
    const bind = exposed ? '0.0.0.0' : '127.0.0.1';
    pid += 1 + Math.floor(rng() * 40);
    services.push({
      port: svc.port,
      transport: svc.transport,
      bind,
      loopbackOnly: !exposed,
      process: { pid, name: svc.process },
      protocol: svc.protocol,
      tls: svc.tls === true,
      ...(svc.product ? { product: svc.product } : {}),
      ...(svc.transport === 'tcp' ? { connections: Math.floor(rng() * 4) } : {}),
    });
    const target: ProbeTarget = { host: '127.0.0.1', port: svc.port, transport: svc.transport, loopbackOnly: !exposed };
    const own: ExposureFinding[] = [];
    for (const [check, p, evidence] of svc.findings) {
      if (rng() < p)
        own.push(
          finding(check, target, `${evidence} on ${svc.transport} port ${svc.port} (simulated device ${deviceId})`),
        );
    }
    const sensitive =
      SENSITIVE_PROTOCOLS.has(svc.protocol) ||
      (svc.protocol !== 'ssh' && svc.protocol !== 'ssdp' && own.some((f) => f.category === 'authentication'));
    if (exposed && sensitive) {
      own.push(
        finding(
          'net.exposed-all-interfaces',
          target,
          `${svc.transport} port ${svc.port} (${svc.protocol}) is bound to 0.0.0.0 (all interfaces), owned by ` +
            `${svc.process} (pid ${pid})`,
        ),
      );
    }
    findings.push(...own);
  }
  const now = opts.now ?? Date.now();
  const id =
    opts.id ??
    `sim-${Math.floor(rng() * 2 ** 48)
      .toString(36)
      .padStart(10, '0')}`;
  return buildReport({
    id,
    ts: now,
    deviceId,
    target: 'local',
    durationMs: 400 + Math.floor(rng() * 1600),
    timedOut: false,
    credentialChecks: true,
    services,
    findings,
  });
}
