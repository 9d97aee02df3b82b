// Checks on non-HTTP protocols: MQTT, Redis, Memcached, MongoDB, PostgreSQL, Telnet, FTP, SSH, Modbus, SSDP.
import type { Finding, ServiceObservation } from '../types.js';
import { finding, quote, where } from './finding.js';

const MQTT_SUBACK: Record<number, string> = {
  0: 'granted QoS 0',
  1: 'granted QoS 1',
  2: 'granted QoS 2',
  128: 'failure',
};

export function serviceChecks(obs: ServiceObservation): Finding[] {
  const f = obs.facts;
  const t = obs.target;
  const at = where(t);
  const h = t.host;
  const tlsNote = obs.tls ? ' over TLS' : '';
  switch (f.protocol) {
    case 'mqtt': {
      if (f.connack !== 0) return [];
      const tlsFlags = obs.tls ? ' --insecure --cafile CA.pem' : '';
      const out = [
        finding(
          'mqtt.anonymous',
          t,
          `CONNACK return code 0 (accepted) to an MQTT 3.1.1 CONNECT without user name, password or client ` +
            `certificate${tlsNote} on ${at}; check with \`mosquitto_sub -d -h ${h} -p ${t.port}${tlsFlags} -t ` +
            `edgeward/probe -W 2\` (look for "CONNACK (0)")`,
        ),
      ];
      const rc = f.subscribe?.returnCode;
      if (rc !== undefined && rc <= 2) {
        out.push(
          finding(
            'mqtt.wildcard-read',
            t,
            `SUBACK return code ${rc} (${MQTT_SUBACK[rc]}) to an anonymous SUBSCRIBE to # on ${at}: every topic is ` +
              `readable; check with \`mosquitto_sub -d -h ${h} -p ${t.port}${tlsFlags} -t '#' -W 2\` (look for ` +
              `"Subscribed (mid: 1): ${rc}")`,
          ),
        );
      }
      return out;
    }
    case 'redis':
      if (f.auth !== 'none') return [];
      return [
        finding(
          'redis.no-auth',
          t,
          `${quote(f.reply, 20)} to an unauthenticated PING${tlsNote} on ` +
            `${at}${f.version ? ` (redis_version ${f.version})` : ''}; check with \`redis-cli -h ${h} -p ` +
            `${t.port}${obs.tls ? ' --tls --insecure' : ''} PING\``,
        ),
      ];
    case 'memcached':
      if (!f.reply.startsWith('VERSION')) return [];
      return [
        finding(
          'memcached.open',
          t,
          `${quote(f.reply, 40)} to the ASCII version command sent without authentication on ${at}; check with ` +
            `\`printf 'version\\r\\n' | nc -q1 ${h} ${t.port}\``,
        ),
      ];
    case 'mongodb':
      if (!f.listDatabases?.ok) return [];
      return [
        finding(
          'mongodb.no-auth',
          t,
          `listDatabases (nameOnly) answered ${f.listDatabases.detail} on an unauthenticated connection to ` +
            `${at}${f.version ? ` (MongoDB ${f.version})` : ''}; check with \`mongosh --host ${h} --port ${t.port} ` +
            `--eval 'db.adminCommand({listDatabases:1,nameOnly:true})'\``,
        ),
      ];
    case 'postgresql':
      if (!f.trust?.accepted) return [];
      return [
        finding(
          'postgres.trust',
          t,
          `${f.trust.detail} to a StartupMessage for user ${f.trust.user} with no password on ${at}; check with ` +
            `\`psql -h ${h} -p ${t.port} -U ${f.trust.user} -w -c 'SELECT 1'\``,
        ),
      ];
    case 'telnet':
      return [
        finding(
          'telnet.open',
          t,
          `${at} answers like a Telnet server${f.iac ? ' (IAC option negotiation)' : ''}, banner ` +
            `${quote(f.banner)}; check with \`telnet ${h} ${t.port}\``,
        ),
      ];
    case 'ftp':
      if (!f.anonymous?.accepted) return [];
      return [
        finding(
          'ftp.anonymous',
          t,
          `Reply ${quote(f.anonymous.reply)} to USER anonymous / PASS edgeward-scan@example.invalid on ${at}; check ` +
            `with \`curl --list-only 'ftp://${at}/'\``,
        ),
      ];
    case 'ssh': {
      const methods = f.authMethods ?? [];
      const weak = methods.filter((m) => m === 'password' || m === 'keyboard-interactive' || m === 'none');
      if (weak.length === 0) return [];
      const what =
        methods.includes('none') && methods.length === 1
          ? 'accepted the "none" method: no password at all'
          : `lists ${methods.join(',')} after a "none" USERAUTH_REQUEST`;
      return [
        finding(
          'ssh.password-auth',
          t,
          `${at} (${quote(f.banner, 60)}) ${what}; check with \`ssh -p ${t.port} -o PreferredAuthentications=none ` +
            `-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null probe@${h}\` (the "Permission denied (…)" ` +
            `line lists the methods)`,
        ),
      ];
    }
    case 'modbus': {
      const reply =
        f.exception !== undefined
          ? `exception 0x${f.exception.toString(16).padStart(2, '0')}`
          : `device identification${f.identity ? ` ${quote(f.identity, 60)}` : ''}`;
      return [
        finding(
          'modbus.open',
          t,
          `Modbus/TCP reply (unit ${f.unitId}, function 0x${f.functionCode.toString(16)}, ${reply}) to an ` +
            `unauthenticated, read-only Read Device Identification on ${at}; check with \`nmap -p ${t.port} ` +
            `--script modbus-discover ${h}\``,
        ),
      ];
    }
    case 'ssdp':
      return [
        finding(
          'upnp.open',
          t,
          `HTTP/1.1 200 to a unicast M-SEARCH on udp ${at}` +
            (f.server ? `, SERVER ${quote(f.server, 60)}` : '') +
            (f.usn ? `, USN ${quote(f.usn, 60)}` : '') +
            (f.location ? `, LOCATION ${quote(f.location, 80)}` : '') +
            `; check with \`printf 'M-SEARCH * HTTP/1.1\\r\\nHOST: ${at}\\r\\nMAN: "ssdp:discover"\\r\\nMX: 1` +
            `\\r\\nST: ssdp:all\\r\\n\\r\\n' | nc -u -w2 ${h} ${t.port}\``,
        ),
      ];
    default:
      return [];
  }
}
