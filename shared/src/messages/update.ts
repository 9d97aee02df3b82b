// update: firmware update offers (backend → device, `fleet/v1/{id}/update`, QoS 1) and the update client's progress
// (device → backend, `fleet/v1/{id}/update/status`, QoS 1). docs/updates.md describes the whole exchange.
//
// An offer names a release the fleet server holds and gives this device a short-lived download authorisation for
// it: `GET {url}` over HTTPS with the device's own certificate and `Authorization: Bearer {token}`, resumable with
// `Range: bytes=N-`. The offer is not what the device trusts: the bundle's signatures are (firmware-tools).
import { array, bytes, int, literal, object, oneOf, optional, str, type Infer } from '../schema.js';
import { messageId, timestamp } from './common.js';

/**
 * The agent's update states, in the order an update goes through them (agent/src/update/machine.ts holds the
 * transitions). Committed, RolledBack and Failed are outcomes: Failed ends before the switch, so the old image never
 * stopped running; RolledBack ends after it, back on the old image.
 */
export const UPDATE_STATES = [
  'Idle',
  'Offered',
  'Downloading',
  'Verifying',
  'Installing',
  'Rebooting',
  'HealthCheck',
  'Committed',
  'RolledBack',
  'Failed',
] as const;
export type UpdateState = (typeof UPDATE_STATES)[number];
export const UPDATE_OUTCOMES = ['Committed', 'RolledBack', 'Failed'] as const satisfies readonly UpdateState[];
export type UpdateOutcome = (typeof UPDATE_OUTCOMES)[number];
export const isUpdateOutcome = (s: string): s is UpdateOutcome => (UPDATE_OUTCOMES as readonly string[]).includes(s);

/** A release id: the SHA-256 (hex) of the whole bundle file, which is also where the server stores it. */
export const RELEASE_ID_PATTERN = /^[0-9a-f]{64}$/;
const releaseId = () => str({ pattern: RELEASE_ID_PATTERN, maxLength: 64 });
const rolloutId = () => int({ min: 1, max: Number.MAX_SAFE_INTEGER });
const version = () => str({ maxLength: 64, pattern: /^[0-9A-Za-z.+_-]{1,64}$/ });
/** A reason code: a BundleError code (FW_ROLLBACK, …) or an update client code (UPDATE_DOWNLOAD, …). */
const reasonCode = () => str({ pattern: /^[A-Z][A-Z0-9_]{1,63}$/, maxLength: 64 });

/** Trust documents travel with an offer so that a device can follow a key rotation; at most this many. */
export const MAX_OFFER_TRUST_DOCUMENTS = 16;
export const MAX_TRUST_DOCUMENT_BYTES = 64 * 1024;

export const updateOfferSchema = object({
  v: literal(1),
  id: messageId(),
  ts: timestamp(),
  /** `install` offers the release; `cancel` withdraws it (honoured only before the install started). */
  action: oneOf(['install', 'cancel'] as const),
  rolloutId: rolloutId(),
  releaseId: releaseId(),
  /** The release's version, for logs and `iot-agent status` (the signed manifest is what counts). */
  version: optional(version()),
  /** https:// URL of the bundle on the fleet server's download listener. */
  url: optional(str({ pattern: /^https:\/\/[^\s]{1,500}$/, maxLength: 512 })),
  /** The download authorisation: for this device and this release only, until tokenExpires. */
  token: optional(str({ pattern: /^[A-Za-z0-9_-]{32,128}$/, maxLength: 128 })),
  tokenExpires: optional(timestamp()),
  /** Size of the whole bundle file in bytes. */
  size: optional(int({ min: 1, max: 2 ** 40 })),
  /** The fleet's trust documents, oldest first; the device applies the ones newer than its own by the chain rules. */
  trust: optional(
    array(bytes({ minLength: 1, maxLength: MAX_TRUST_DOCUMENT_BYTES }), { maxItems: MAX_OFFER_TRUST_DOCUMENTS }),
  ),
});
export type UpdateOffer = Infer<typeof updateOfferSchema>;

export const updateStatusSchema = object({
  v: literal(1),
  id: messageId(),
  ts: timestamp(),
  rolloutId: rolloutId(),
  releaseId: releaseId(),
  state: oneOf(UPDATE_STATES),
  /** Bytes downloaded (Downloading) or verified (Verifying) so far, of `total`. */
  done: optional(int({ min: 0, max: 2 ** 40 })),
  total: optional(int({ min: 0, max: 2 ** 40 })),
  /** Why it failed or rolled back: a BundleError code (FW_ROLLBACK, …) or an update client code (UPDATE_*). */
  reasonCode: optional(reasonCode()),
  reason: optional(str({ maxLength: 500 })),
  /** The firmware running when this was sent. */
  firmwareVersion: optional(version()),
});
export type UpdateStatus = Infer<typeof updateStatusSchema>;

export const MAX_UPDATE_OFFER_BYTES = MAX_OFFER_TRUST_DOCUMENTS * MAX_TRUST_DOCUMENT_BYTES + 8 * 1024;
export const MAX_UPDATE_STATUS_BYTES = 4 * 1024;
