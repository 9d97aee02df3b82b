// The update client's one transition table (Mender-style): state × event → next state. Each state does one
// thing and posts one event; an event with no transition here is a bug and `next` throws.
import type { UpdateState } from '../../../shared/src/index.js';

export const UPDATE_EVENTS = [
  'offer', // a new install offer was accepted
  'download', // start (or resume) the download
  'downloaded', // the whole bundle is on disk
  'verified', // signatures, device checks and payload digest passed; payload written to the inactive slot
  'installed', // the inactive slot is finished (its metadata recorded)
  'switched', // the boot flag points at the new slot (trial) and the "reboot" happened
  'healthy', // the new image confirmed itself
  'unhealthy', // the health hook failed
  'deadline', // nothing confirmed the new image in time
  'failed', // an error before the switch: the old image never stopped
  'rollback', // an error after the switch (or a crash loop): back to the old slot
  'cancel', // the fleet withdrew the offer (only before Installing)
  'reported', // the outcome report is in the outbox
] as const;
export type UpdateEvent = (typeof UPDATE_EVENTS)[number];

export const TRANSITIONS: Readonly<Record<UpdateState, Readonly<Partial<Record<UpdateEvent, UpdateState>>>>> = {
  Idle: { offer: 'Offered' },
  Offered: { download: 'Downloading', failed: 'Failed', cancel: 'Failed' },
  Downloading: { downloaded: 'Verifying', failed: 'Failed', cancel: 'Failed' },
  Verifying: { verified: 'Installing', failed: 'Failed', cancel: 'Failed' },
  Installing: { installed: 'Rebooting', failed: 'Failed' },
  Rebooting: { switched: 'HealthCheck', failed: 'Failed', rollback: 'RolledBack' },
  HealthCheck: { healthy: 'Committed', unhealthy: 'RolledBack', deadline: 'RolledBack', rollback: 'RolledBack' },
  Committed: { reported: 'Idle' },
  RolledBack: { reported: 'Idle' },
  Failed: { reported: 'Idle' },
};

export class IllegalTransition extends Error {
  constructor(
    readonly state: UpdateState,
    readonly event: UpdateEvent,
  ) {
    super(`update state machine: no transition from ${state} on ${event}`);
    this.name = 'IllegalTransition';
  }
}

/** The state after `event` in `state`; throws IllegalTransition when the table has none. */
export function next(state: UpdateState, event: UpdateEvent): UpdateState {
  const to = TRANSITIONS[state]?.[event];
  if (!to) throw new IllegalTransition(state, event);
  return to;
}
