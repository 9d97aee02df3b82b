// Enrolment from the device: make a P-256 key here (it never leaves), send a CSR with a one-time token,
// check what comes back, and write a ready-to-run agent folder.
import { request } from 'node:https';
import { join } from 'node:path';
import {
  BACKEND_KEY_FILE,
  ensurePrivateDir,
  generateSealKeyPair,
  parseSealPublicKeyPem,
  SEAL_KEY_FILE,
  sealPublicKeyToPem,
  sealSecretKeyToPem,
  writeFileSafe,
  writeSecret,
} from '../../../shared/src/index.js';
import { createCsr, generateKeyPair, parseCertificate, privateKeyPem, spki } from '../../../shared/src/x509.js';
import { AgentError } from '../errors.js';

export interface EnrollOptions {
  /** https://host:port of the fleet server's enrolment endpoint. */
  readonly server: string;
  readonly token: string;
  /** PEM of the fleet CA, which must have signed the server's certificate. */
  readonly ca: string;
  readonly deviceId: string;
  readonly outDir: string;
  /** mqtts:// address for agent.json; defaults to what the server says. */
  readonly mqtt?: string;
  readonly timeoutMs?: number;
}

export interface EnrollResult {
  readonly deviceId: string;
  readonly files: { key: string; cert: string; ca: string; config: string; sealKey: string; backendKey: string };
  readonly mqtt: string;
  readonly expires: string;
}

interface Response {
  status: number;
  body: Record<string, unknown>;
}

function post(url: URL, ca: string, body: unknown, timeoutMs: number): Promise<Response> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        minVersion: 'TLSv1.2',
        rejectUnauthorized: true,
        headers: { 'content-type': 'application/json', 'content-length': data.length },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 64 * 1024) req.destroy(new Error('response larger than 64 KiB'));
          else chunks.push(c);
        });
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            parsed = {};
          }
          resolve({
            status: res.statusCode ?? 0,
            body: typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {},
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end(data);
  });
}

export async function enroll(opts: EnrollOptions): Promise<EnrollResult> {
  let url: URL;
  try {
    url = new URL('/v1/enroll', opts.server);
  } catch {
    throw new AgentError('AGENT_ENROLL_FAILED', `the server address ${opts.server} is not a URL`);
  }
  if (url.protocol !== 'https:')
    throw new AgentError('AGENT_ENROLL_FAILED', `--server must be an https:// URL, got ${opts.server}`);
  const keys = await generateKeyPair();
  const csr = await createCsr(opts.deviceId, keys);
  // The sealing key is made here too, and only its public half is sent (docs/security.md "Sealing").
  const seal = generateSealKeyPair();
  const body = { token: opts.token, id: opts.deviceId, csr, sealKey: sealPublicKeyToPem(seal.publicKey) };
  let res: Response;
  try {
    res = await post(url, opts.ca, body, opts.timeoutMs ?? 15_000);
  } catch (err) {
    throw new AgentError(
      'AGENT_ENROLL_FAILED',
      `cannot reach the enrolment endpoint ${url.origin}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (res.status !== 201) {
    const reason = typeof res.body.error === 'string' ? res.body.error : `HTTP ${res.status}`;
    const message = typeof res.body.message === 'string' ? res.body.message : 'the server refused the enrolment';
    throw new AgentError('AGENT_ENROLL_REFUSED', `enrolment refused (${reason}): ${message}`, {
      details: { status: res.status, reason },
    });
  }
  const certPem = res.body.certificate;
  if (typeof certPem !== 'string' || certPem.length > 16_384)
    throw new AgentError('AGENT_ENROLL_FAILED', 'the server answered without a certificate');
  // Trust nothing: the certificate must be for our key, our id, and from the CA we were given.
  let cert: ReturnType<typeof parseCertificate>;
  try {
    cert = parseCertificate(certPem);
  } catch (err) {
    throw new AgentError('AGENT_ENROLL_FAILED', 'the server sent an unreadable certificate', { cause: err });
  }
  const ourKey = await spki(keys.publicKey);
  if (!Buffer.from(cert.publicKey.rawData).equals(ourKey))
    throw new AgentError('AGENT_ENROLL_FAILED', 'the issued certificate is not for the key made here');
  if (cert.subjectName.getField('CN')[0] !== opts.deviceId)
    throw new AgentError('AGENT_ENROLL_FAILED', `the issued certificate is not for ${opts.deviceId}`);
  if (!(await cert.verify({ publicKey: parseCertificate(opts.ca), signatureOnly: true }))) {
    throw new AgentError('AGENT_ENROLL_FAILED', 'the issued certificate is not signed by the fleet CA given with --ca');
  }

  let backendKey: Uint8Array;
  try {
    if (typeof res.body.sealKey !== 'string' || res.body.sealKey.length > 1024) throw new Error('missing');
    backendKey = parseSealPublicKeyPem(res.body.sealKey, 'the backend sealing key');
  } catch (err) {
    throw new AgentError('AGENT_ENROLL_FAILED', 'the server answered without a valid sealing key (sealKey)', {
      cause: err,
    });
  }

  const mqtt =
    opts.mqtt ??
    (typeof res.body.mqtt === 'string' && /^mqtts:\/\//.test(res.body.mqtt)
      ? res.body.mqtt
      : `mqtts://${url.hostname}:8883`);
  const files = {
    key: join(opts.outDir, 'device.key'),
    cert: join(opts.outDir, 'device.crt'),
    ca: join(opts.outDir, 'ca.crt'),
    config: join(opts.outDir, 'agent.json'),
    sealKey: join(opts.outDir, SEAL_KEY_FILE),
    backendKey: join(opts.outDir, BACKEND_KEY_FILE),
  };
  ensurePrivateDir(opts.outDir);
  writeSecret(files.key, await privateKeyPem(keys.privateKey), true);
  writeFileSafe(files.cert, certPem, { overwrite: true });
  writeFileSafe(files.ca, opts.ca, { overwrite: true });
  writeSecret(files.sealKey, sealSecretKeyToPem(seal), true);
  writeFileSafe(files.backendKey, sealPublicKeyToPem(backendKey), { overwrite: true });
  const config = {
    server: mqtt,
    deviceId: opts.deviceId,
    cert: 'device.crt',
    key: 'device.key',
    ca: 'ca.crt',
    seal: { key: SEAL_KEY_FILE, backendKey: BACKEND_KEY_FILE },
    stateDir: 'state',
    telemetryIntervalSeconds: 10,
  };
  writeFileSafe(files.config, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, overwrite: true });
  return { deviceId: opts.deviceId, files, mqtt, expires: cert.notAfter.toISOString() };
}
