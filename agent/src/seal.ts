// End-to-end sealing on the device: what the agent publishes is sealed for the fleet backend, and what the backend
// seals for this device (commands, update offers) is opened here before any other check (docs/security.md).
import {
  isSealedEnvelope,
  openEnvelope,
  parseEnvelope,
  parseSealPublicKeyPem,
  parseSealSecretKeyPem,
  readRegularFile,
  sealMessage,
  sealChannel,
  type SealChannel,
} from '../../shared/src/index.js';
import type { AgentConfig } from './config.js';
import { AgentError } from './errors.js';

export interface DeviceSealer {
  /** The device's key id and the backend's, as hex (logged at start; never the keys). */
  readonly deviceKid: string;
  readonly backendKid: string;
  seal(topic: string, payload: Uint8Array): Buffer;
  /** Opens a sealed payload from the backend for `topic`; throws SealError (SEAL_REQUIRED for a plain one). */
  open(topic: string, payload: Uint8Array): Uint8Array;
}

export function createDeviceSealer(channel: SealChannel): DeviceSealer {
  return {
    deviceKid: Buffer.from(channel.ownKid).toString('hex'),
    backendKid: Buffer.from(channel.peerKid).toString('hex'),
    seal: (topic, payload) => sealMessage(channel, topic, payload),
    open: (topic, payload) => openEnvelope(channel, parseEnvelope(payload), topic),
  };
}

/** Whether a payload from the backend is sealed (the first byte of a CBOR array). */
export const sealedPayload = isSealedEnvelope;

/** Reads config.seal's two key files; AGENT_CREDENTIALS naming the file when one is missing or wrong. */
export function loadSealChannel(config: AgentConfig): SealChannel {
  const read = (what: string, path: string) => {
    try {
      return readRegularFile(path, { maxBytes: 16 * 1024 });
    } catch (err) {
      throw new AgentError(
        'AGENT_CREDENTIALS',
        `cannot read the ${what} ${path}: ${(err as Error).message}; enrol the device again (iot-agent enroll), ` +
          'which writes it, or see docs/security.md "Sealing"',
        { cause: err },
      );
    }
  };
  try {
    const own = parseSealSecretKeyPem(read('sealing key', config.seal.key), config.seal.key);
    const backend = parseSealPublicKeyPem(read('backend sealing key', config.seal.backendKey), config.seal.backendKey);
    return sealChannel(own, backend);
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw new AgentError('AGENT_CREDENTIALS', (err as Error).message, { cause: err });
  }
}
