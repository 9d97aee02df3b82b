// Reachability checks: a sensitive service bound beyond loopback, and credentials or control in plaintext there.
import { isWildcard, widestBind } from '../addresses.js';
import type { Finding, ServiceObservation } from '../types.js';
import { finding, where } from './finding.js';
import { get } from './http-util.js';

/** Data stores, brokers, industrial and legacy remote-access protocols: sensitive wherever they listen. */
export const SENSITIVE_PROTOCOLS: ReadonlySet<string> = new Set([
  'mqtt',
  'redis',
  'memcached',
  'mongodb',
  'postgresql',
  'mysql',
  'modbus',
  'telnet',
  'ftp',
  'vnc',
]);

/**
 * A service is sensitive when its protocol is in SENSITIVE_PROTOCOLS, or when another check found it lets
 * people in or leaks (an authentication or exposure finding). SSH is meant to be reachable: its own check
 * covers it. SSDP answers on all interfaces by design and upnp.open covers it.
 */
export function isSensitive(obs: ServiceObservation, findings: readonly Finding[]): boolean {
  const p = obs.facts.protocol;
  if (p === 'ssh' || p === 'ssdp') return false;
  return (
    SENSITIVE_PROTOCOLS.has(p) || findings.some((f) => f.category === 'authentication' || f.category === 'exposure')
  );
}

export function exposureCheck(obs: ServiceObservation, findings: readonly Finding[]): Finding[] {
  if (obs.target.loopbackOnly || !isSensitive(obs, findings)) return [];
  const binds = obs.listening?.binds ?? [obs.target.host];
  const bind = widestBind(binds);
  const scope = isWildcard(bind) ? 'all interfaces' : 'a network address';
  const owner = obs.listening?.process
    ? `, owned by ${obs.listening.process.name} (pid ${obs.listening.process.pid})`
    : '';
  const ss = obs.target.transport === 'tcp' ? 'ss -ltnp' : 'ss -lunp';
  return [
    finding(
      'net.exposed-all-interfaces',
      obs.target,
      `${obs.target.transport} port ${obs.target.port} (${obs.facts.protocol}${obs.tls ? ' over TLS' : ''}) is ` +
        `bound to ${binds.join(', ')} (${scope})${owner}; check with \`${ss} 'sport = :${obs.target.port}'\``,
    ),
  ];
}

/** What a plaintext service carries that an eavesdropper could use, or undefined when nothing is at stake. */
function plaintextStake(obs: ServiceObservation): string | undefined {
  const f = obs.facts;
  switch (f.protocol) {
    case 'mqtt':
      return f.connack === 0
        ? 'an MQTT CONNECT was accepted in plaintext: publishes (commands) and any credentials travel unencrypted'
        : `the broker asks for credentials (CONNACK ${f.connack}) in plaintext`;
    case 'redis':
      return f.auth === 'required'
        ? 'Redis asks for its password (AUTH) in plaintext'
        : 'Redis takes commands in plaintext';
    case 'ftp':
      return 'FTP takes USER/PASS in plaintext';
    case 'mongodb':
      return 'MongoDB answered commands in plaintext';
    case 'postgresql':
      return f.sslSupported
        ? undefined
        : 'PostgreSQL answered N to SSLRequest: passwords and queries travel in plaintext';
    case 'http': {
      const challenge = f.exchanges.find(
        (x) => x.response?.status === 401 && x.response.headers['www-authenticate'] && x.credentials === undefined,
      );
      if (challenge)
        return (
          `GET ${challenge.path} asks for ` +
          `${challenge.response!.headers['www-authenticate']!.split(/[\s,]/)[0]} credentials (401) over plain HTTP`
        );
      const root = get(f, '/')?.response;
      if (root && /<input[^>]+type=["']?password/i.test(root.body))
        return 'GET / serves a password form over plain HTTP';
      if (f.nodeRed) return 'the Node-RED editor (code execution) is served over plain HTTP';
      return undefined;
    }
    default:
      return undefined;
  }
}

export function plaintextCheck(obs: ServiceObservation): Finding[] {
  if (obs.tls || obs.target.loopbackOnly) return [];
  const stake = plaintextStake(obs);
  if (!stake) return [];
  return [
    finding(
      'tls.none',
      obs.target,
      `On ${where(obs.target)}, reachable beyond loopback, ${stake}; check with \`openssl s_client -connect ` +
        `${where(obs.target)} </dev/null\` (fails: no TLS)`,
    ),
  ];
}
