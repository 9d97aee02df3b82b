// Server-first protocols recognised from what the server sends on connect: SSH, FTP, SMTP, Telnet, MySQL, VNC.
import { budget } from '../net/conn.js';
import { firstLine, printable, type ServerFirstProbe } from './probe.js';
import { sshAuthMethods } from './ssh-auth.js';

const IAC = 0xff;

/** Telnet option negotiation: IAC followed by WILL, WONT, DO or DONT (RFC 854), or IAC SB. */
function hasIac(data: Buffer): boolean {
  for (let i = 0; i + 1 < Math.min(data.length, 64); i++) {
    if (data[i] === IAC && data[i + 1]! >= 0xfa && data[i + 1]! <= 0xfe) return true;
  }
  return false;
}

const LOGIN_PROMPT = /(login|username|user name|password)\s*:\s*$/i;
const SMTP_WORDS = /\b(E?SMTP|Postfix|Exim|Sendmail|mail service)\b/i;

export const sshProbe: ServerFirstProbe = {
  name: 'ssh',
  recognise: (banner) => /^SSH-\d\.\d+-/m.test(banner.subarray(0, 1024).toString('latin1')),
  async assess(conn, { ctx }) {
    const text = conn.received.subarray(0, 1024).toString('latin1');
    const line = /^SSH-[^\r\n]*/m.exec(text)?.[0] ?? 'SSH-';
    const banner = printable(Buffer.from(line, 'latin1'), 120);
    const product = banner.replace(/^SSH-\d\.\d+-/, '').slice(0, 100) || undefined;
    const auth = await sshAuthMethods(conn, ctx, conn.received);
    return {
      facts: {
        protocol: 'ssh',
        banner,
        ...(auth.methods ? { authMethods: auth.methods } : {}),
        ...(auth.error ? { authError: auth.error } : {}),
      },
      ...(product ? { product } : {}),
    };
  },
};

export const smtpProbe: ServerFirstProbe = {
  name: 'smtp',
  recognise: (banner) => /^220[ -]/.test(banner.toString('latin1')) && SMTP_WORDS.test(firstLine(banner, 200)),
  async assess(conn) {
    conn.write('QUIT\r\n');
    return { facts: { protocol: 'smtp', banner: firstLine(conn.received) } };
  },
};

/** The code of the last line of an FTP reply (RFC 959 §4.2: a multi-line reply ends with "ddd "). */
function ftpReply(data: Buffer): { code: number; text: string } | undefined {
  const lines = data.toString('latin1').split(/\r?\n/);
  for (const l of lines) {
    const m = /^(\d{3}) /.exec(l);
    if (m) return { code: Number(m[1]), text: printable(Buffer.from(l, 'latin1'), 120) };
  }
  return undefined;
}

export const ftpProbe: ServerFirstProbe = {
  name: 'ftp',
  recognise: (banner) => /^220[ -]/.test(banner.toString('latin1')) && !SMTP_WORDS.test(firstLine(banner, 200)),
  async assess(conn, { ctx }) {
    const banner = firstLine(conn.received);
    conn.consume(conn.received.length);
    // Anonymous FTP (RFC 1635) is a login with no secret: USER anonymous, PASS an e-mail-like string.
    conn.write('USER anonymous\r\n');
    let r = ftpReply((await conn.waitFor((d) => ftpReply(d) !== undefined, budget(ctx))).data);
    if (!r) return { facts: { protocol: 'ftp', banner } };
    if (r.code === 331) {
      conn.consume(conn.received.length);
      conn.write('PASS edgeward-scan@example.invalid\r\n');
      r = ftpReply((await conn.waitFor((d) => ftpReply(d) !== undefined, budget(ctx))).data);
    }
    conn.write('QUIT\r\n');
    const product = banner.replace(/^220[ -]/, '').slice(0, 100) || undefined;
    if (!r || (r.code >= 500 && r.code !== 530))
      return { facts: { protocol: 'ftp', banner }, ...(product ? { product } : {}) };
    return {
      facts: { protocol: 'ftp', banner, anonymous: { accepted: r.code === 230, reply: r.text } },
      ...(product ? { product } : {}),
    };
  },
};

export const telnetProbe: ServerFirstProbe = {
  name: 'telnet',
  recognise: (banner) => hasIac(banner) || LOGIN_PROMPT.test(printable(banner, 400)),
  async assess(conn) {
    // Never answers the prompt: the presence of the service is the finding.
    return {
      facts: {
        protocol: 'telnet',
        banner: printable(conn.received, 120) || '(option negotiation only)',
        iac: hasIac(conn.received),
      },
    };
  },
};

export const mysqlProbe: ServerFirstProbe = {
  name: 'mysql',
  // Initial handshake packet: 3-byte length, sequence 0, protocol version 10, NUL-terminated server version.
  recognise: (b) =>
    b.length > 6 &&
    b[3] === 0 &&
    ((b[4] === 10 && b[5]! >= 0x30 && b[5]! <= 0x39) || (b[4] === 0xff && b.readUIntLE(0, 3) === b.length - 4)),
  async assess(conn) {
    const b = conn.received;
    const end = b.indexOf(0, 5);
    const version = b[4] === 10 && end > 5 ? printable(b.subarray(5, end), 60) : undefined;
    return {
      facts: { protocol: 'mysql', banner: version ?? 'error packet' },
      ...(version ? { product: `MySQL ${version}` } : {}),
    };
  },
};

export const vncProbe: ServerFirstProbe = {
  name: 'vnc',
  recognise: (b) => /^RFB \d{3}\.\d{3}\n/.test(b.subarray(0, 12).toString('latin1')),
  async assess(conn) {
    return { facts: { protocol: 'vnc', banner: firstLine(conn.received) } };
  },
};

/** Order matters: the first probe that recognises the banner wins. */
export const SERVER_FIRST: readonly ServerFirstProbe[] = [
  sshProbe,
  smtpProbe,
  ftpProbe,
  mysqlProbe,
  vncProbe,
  telnetProbe,
];
