// Asks an SSH server which authentication methods it offers: key exchange (RFC 4253 §7, curve25519-sha256 per
// RFC 8731 or ecdh-sha2-nistp256 per RFC 5656), then a "none" USERAUTH_REQUEST (RFC 4252 §5.2) whose FAILURE
// reply lists the methods. No credential is ever sent. The host key signature is not verified: nothing secret
// travels on this connection, and the probe closes right after the reply.
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  generateKeyPairSync,
  diffieHellman,
  createPublicKey,
  type Cipher,
  type Decipher,
} from 'node:crypto';
import { budget, type Conn, type ProbeContext } from '../net/conn.js';

const MSG = {
  DISCONNECT: 1,
  IGNORE: 2,
  DEBUG: 4,
  SERVICE_REQUEST: 5,
  SERVICE_ACCEPT: 6,
  EXT_INFO: 7,
  KEXINIT: 20,
  NEWKEYS: 21,
  KEX_ECDH_INIT: 30,
  KEX_ECDH_REPLY: 31,
  USERAUTH_REQUEST: 50,
  USERAUTH_FAILURE: 51,
  USERAUTH_SUCCESS: 52,
  USERAUTH_BANNER: 53,
} as const;
const CLIENT_VERSION = 'SSH-2.0-edgeward_scan_1';
const KEX = ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256'];
const HOST_KEY = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
];
const CIPHER = 'aes128-ctr';
const MAC = 'hmac-sha2-256';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const sshString = (s: Buffer | string) => {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([u32(b.length), b]);
};
/** RFC 4251 §5 mpint of an unsigned big-endian magnitude. */
const mpint = (raw: Buffer) => {
  let i = 0;
  while (i < raw.length && raw[i] === 0) i++;
  let mag = raw.subarray(i);
  if (mag.length && mag[0]! & 0x80) mag = Buffer.concat([Buffer.from([0]), mag]);
  return sshString(mag);
};

class Reader {
  pos = 0;
  constructor(private readonly b: Buffer) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new Error('truncated');
    return this.b[this.pos++]!;
  }
  string(): Buffer {
    if (this.pos + 4 > this.b.length) throw new Error('truncated');
    const len = this.b.readUInt32BE(this.pos);
    if (this.pos + 4 + len > this.b.length) throw new Error('truncated');
    const out = this.b.subarray(this.pos + 4, this.pos + 4 + len);
    this.pos += 4 + len;
    return out;
  }
  list(): string[] {
    return this.string().toString('latin1').split(',').filter(Boolean);
  }
}

/** Packet framing with optional aes128-ctr + hmac-sha2-256 (RFC 4253 §6, encrypt-and-MAC). */
class Transport {
  private sendSeq = 0;
  private recvSeq = 0;
  private enc: Cipher | undefined;
  private dec: Decipher | undefined;
  private macOut: Buffer | undefined;
  private macInLen = 0;
  private pendingPlain: Buffer | undefined;

  constructor(
    private readonly conn: Conn,
    private readonly ctx: ProbeContext,
  ) {}

  send(payload: Buffer): void {
    const block = this.enc ? 16 : 8;
    let pad = block - ((5 + payload.length) % block);
    if (pad < 4) pad += block;
    const packet = Buffer.concat([
      u32(1 + payload.length + pad),
      Buffer.from([pad]),
      payload,
      this.ctx.env.randomBytes(pad),
    ]);
    if (this.enc && this.macOut) {
      const mac = createHmac('sha256', this.macOut)
        .update(Buffer.concat([u32(this.sendSeq), packet]))
        .digest();
      this.conn.write(Buffer.concat([this.enc.update(packet), mac]));
    } else this.conn.write(packet);
    this.sendSeq = (this.sendSeq + 1) >>> 0;
  }

  /** Next payload, skipping IGNORE/DEBUG/EXT_INFO; undefined on close or timeout. */
  async receive(): Promise<Buffer | undefined> {
    for (let guard = 0; guard < 20; guard++) {
      const payload = await this.receiveOne();
      if (!payload || payload.length === 0) return undefined;
      const t = payload[0];
      if (t !== MSG.IGNORE && t !== MSG.DEBUG && t !== MSG.EXT_INFO && t !== MSG.USERAUTH_BANNER) return payload;
    }
    return undefined;
  }

  private async receiveOne(): Promise<Buffer | undefined> {
    const blockLen = this.dec ? 16 : 8;
    const ready = (d: Buffer) => {
      if (d.length < blockLen) return false;
      const first = this.dec
        ? (this.pendingPlain ??= this.dec.update(d.subarray(0, blockLen)))
        : d.subarray(0, blockLen);
      const len = first.readUInt32BE(0);
      if (len > 35_000 || len < 5) return true; // RFC 4253 §6.1: 35000 bytes is the minimum every side must take.
      return d.length >= 4 + len + this.macInLen;
    };
    const { data } = await this.conn.waitFor(ready, budget(this.ctx));
    if (!ready(data)) return undefined;
    let first: Buffer;
    if (this.dec) {
      first = this.pendingPlain!;
      this.pendingPlain = undefined;
    } else first = data.subarray(0, blockLen);
    const len = first.readUInt32BE(0);
    if (len > 35_000 || len < 5) throw new Error(`bad packet length ${len}`);
    const rest = data.subarray(blockLen, 4 + len);
    const packet = this.dec ? Buffer.concat([first, this.dec.update(rest)]) : data.subarray(0, 4 + len);
    this.conn.consume(4 + len + this.macInLen);
    this.recvSeq = (this.recvSeq + 1) >>> 0;
    const pad = packet[4]!;
    return packet.subarray(5, 4 + len - pad);
  }

  startEncryption(keys: { encC2S: Buffer; ivC2S: Buffer; encS2C: Buffer; ivS2C: Buffer; macC2S: Buffer }): void {
    this.enc = createCipheriv('aes-128-ctr', keys.encC2S, keys.ivC2S);
    this.dec = createDecipheriv('aes-128-ctr', keys.encS2C, keys.ivS2C);
    this.macOut = keys.macC2S;
    this.macInLen = 32;
  }
}

function kexinit(ctx: ProbeContext): Buffer {
  return Buffer.concat([
    Buffer.from([MSG.KEXINIT]),
    ctx.env.randomBytes(16),
    sshString(KEX.join(',')),
    sshString(HOST_KEY.join(',')),
    sshString(CIPHER),
    sshString(CIPHER),
    sshString(MAC),
    sshString(MAC),
    sshString('none'),
    sshString('none'),
    sshString(''),
    sshString(''),
    Buffer.from([0]),
    u32(0),
  ]);
}

interface Ephemeral {
  readonly publicKey: Buffer;
  secret(peer: Buffer): Buffer;
}

function ephemeral(kex: string): Ephemeral {
  if (kex.startsWith('curve25519')) {
    const { publicKey, privateKey } = generateKeyPairSync('x25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    return {
      publicKey: raw,
      secret: (peer) => {
        const spki = Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), peer]);
        return diffieHellman({ privateKey, publicKey: createPublicKey({ key: spki, format: 'der', type: 'spki' }) });
      },
    };
  }
  const ecdh = createECDH('prime256v1');
  return { publicKey: ecdh.generateKeys(), secret: (peer) => ecdh.computeSecret(peer) };
}

export interface AuthMethodsResult {
  readonly methods?: readonly string[];
  readonly error?: string;
}

/** Runs the exchange on a connection whose server banner is already in `conn.received`. */
export async function sshAuthMethods(conn: Conn, ctx: ProbeContext, serverBanner: Buffer): Promise<AuthMethodsResult> {
  try {
    const text = serverBanner.toString('latin1');
    const line = /^(SSH-[^\r\n]*)\r?\n/m.exec(text);
    if (!line) return { error: 'incomplete banner' };
    const vS = line[1]!;
    conn.consume(Buffer.byteLength(text.slice(0, line.index + line[0].length), 'latin1'));
    conn.write(`${CLIENT_VERSION}\r\n`);
    const t = new Transport(conn, ctx);
    const iC = kexinit(ctx);
    t.send(iC);
    const iS = await t.receive();
    if (!iS || iS[0] !== MSG.KEXINIT) return { error: 'no KEXINIT from server' };
    const r = new Reader(iS);
    r.pos = 17;
    const serverKex = r.list();
    const serverHostKeys = r.list();
    const ciphers = r.list();
    r.list();
    const macs = r.list();
    const kex = KEX.find((k) => serverKex.includes(k));
    if (!kex || !HOST_KEY.some((k) => serverHostKeys.includes(k)) || !ciphers.includes(CIPHER) || !macs.includes(MAC)) {
      return { error: 'no algorithms in common with the probe' };
    }
    const eph = ephemeral(kex);
    t.send(Buffer.concat([Buffer.from([MSG.KEX_ECDH_INIT]), sshString(eph.publicKey)]));
    const reply = await t.receive();
    if (!reply || reply[0] !== MSG.KEX_ECDH_REPLY) return { error: 'no KEX_ECDH_REPLY' };
    const rr = new Reader(reply);
    rr.pos = 1;
    const hostKey = rr.string();
    const qS = rr.string();
    const k = mpint(eph.secret(qS));
    const h = createHash('sha256')
      .update(
        Buffer.concat([
          sshString(CLIENT_VERSION),
          sshString(vS),
          sshString(iC),
          sshString(iS),
          sshString(hostKey),
          sshString(eph.publicKey),
          sshString(qS),
          k,
        ]),
      )
      .digest();
    // RFC 4253 §7.2: key = HASH(K || H || letter || session_id); SHA-256 gives enough bytes for every key here.
    const derive = (letter: string) =>
      createHash('sha256')
        .update(Buffer.concat([k, h, Buffer.from(letter), h]))
        .digest();
    t.send(Buffer.from([MSG.NEWKEYS]));
    const newkeys = await t.receive();
    if (!newkeys || newkeys[0] !== MSG.NEWKEYS) return { error: 'no NEWKEYS' };
    t.startEncryption({
      ivC2S: derive('A').subarray(0, 16),
      ivS2C: derive('B').subarray(0, 16),
      encC2S: derive('C').subarray(0, 16),
      encS2C: derive('D').subarray(0, 16),
      macC2S: derive('E'),
    });
    t.send(Buffer.concat([Buffer.from([MSG.SERVICE_REQUEST]), sshString('ssh-userauth')]));
    const accept = await t.receive();
    if (!accept || accept[0] !== MSG.SERVICE_ACCEPT) return { error: 'ssh-userauth service not accepted' };
    t.send(
      Buffer.concat([
        Buffer.from([MSG.USERAUTH_REQUEST]),
        sshString('edgeward-probe'),
        sshString('ssh-connection'),
        sshString('none'),
      ]),
    );
    const answer = await t.receive();
    t.send(Buffer.concat([Buffer.from([MSG.DISCONNECT]), u32(11), sshString('scan done'), sshString('')]));
    if (answer?.[0] === MSG.USERAUTH_SUCCESS) return { methods: ['none'] };
    if (answer?.[0] !== MSG.USERAUTH_FAILURE) return { error: 'no USERAUTH reply' };
    const fr = new Reader(answer);
    fr.pos = 1;
    return {
      methods: fr
        .list()
        .map((m) => m.slice(0, 40))
        .slice(0, 16),
    };
  } catch (err) {
    return { error: (err as Error).message.slice(0, 120) };
  }
}
