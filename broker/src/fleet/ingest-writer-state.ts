// The states of ingest's thread writer (ingest-writer.ts) and its one transition table. Each state does one thing;
// each event names what happened; an event with no transition from the current state is a bug, and nextState
// throws rather than guess.
export const WRITER_STATES = [
  /** The thread is opening the database; batches wait on this side (their buffers have not moved yet). */
  'starting',
  /** The thread stores every batch; this side settles them as its commits are reported. */
  'ready',
  /** The thread never became ready: batches are stored on this thread's connection, or refused if it is damaged. */
  'inline',
  /** The thread was asked to close and finishes what it holds. */
  'closing',
  'closed',
] as const;
export type WriterState = (typeof WRITER_STATES)[number];

export const WRITER_EVENTS = [
  /** Ingest hands a batch over. */
  'write',
  /** Ingest closes the writer. */
  'close',
  /** The thread opened the database and takes batches. */
  'ready',
  /** The thread could not open the database or read what ingest needs from it, and stopped. */
  'unusable',
  /** A commit's batches were stored, or its transaction failed (nothing of it stored): they settle. */
  'committed',
  'commit-failed',
  /** A WAL checkpoint or a retention transaction failed on the thread. */
  'background-failed',
  /** A retention transaction deleted old rows. */
  'pruned',
  /** The thread stopped without being asked (an uncaught error, or it exited). */
  'died',
  /** The thread closed as asked. */
  'closed',
] as const;
export type WriterEvent = (typeof WRITER_EVENTS)[number];

type Table = { readonly [S in WriterState]: { readonly [E in WriterEvent]?: WriterState } };

const WRITER_TRANSITIONS: Table = {
  starting: {
    write: 'starting',
    ready: 'ready',
    unusable: 'inline',
    died: 'inline',
    close: 'closing',
  },
  ready: {
    write: 'ready',
    committed: 'ready',
    'commit-failed': 'ready',
    'background-failed': 'ready',
    pruned: 'ready',
    // The batches in flight are refused (the devices resend them) and a new thread starts at once.
    died: 'starting',
    close: 'closing',
  },
  // Retention runs on this thread's connection here, reported straight to ingest (not through these events).
  inline: {
    write: 'inline',
    close: 'closed',
  },
  closing: {
    // Asked to close while it started: it becomes ready, or fails to, then handles the close.
    ready: 'closing',
    unusable: 'closed',
    committed: 'closing',
    'commit-failed': 'closing',
    'background-failed': 'closing',
    pruned: 'closing',
    died: 'closed',
    closed: 'closed',
  },
  closed: {},
};

/** The state `event` leads to from `state`; throws when the table has no such transition (a bug). */
export function nextState(state: WriterState, event: WriterEvent): WriterState {
  const next = WRITER_TRANSITIONS[state][event];
  if (next === undefined) throw new Error(`ingest writer: no transition from ${state} on ${event} (a bug)`);
  return next;
}
