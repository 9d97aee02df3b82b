// The store-and-forward outbox contract: samples and reports wait here until the broker acknowledges them.
import type { DevicePublishChannel, TelemetrySample } from '../../../shared/src/index.js';

export interface PendingMessage {
  readonly id: number;
  readonly channel: DevicePublishChannel;
  readonly payload: Uint8Array;
}

/**
 * Why a sample was lost: `outbox-full` (the oldest stored sample made room past `maxSamples`), `disk-full` or
 * `write-failed` (the sample could not be written at all, so it never got a sequence number).
 */
export const DROP_REASONS = ['outbox-full', 'disk-full', 'write-failed'] as const;
export type DropReason = (typeof DROP_REASONS)[number];
/** The reasons a sample is refused by the store itself, which the sampler reports with recordDropped. */
export type StoreFailure = Exclude<DropReason, 'outbox-full'>;

export interface OutboxStats {
  /** Samples plus messages waiting for an acknowledgement. */
  readonly outboxDepth: number;
  readonly samples: number;
  readonly messages: number;
  /** Last sample made (0 before the first). */
  readonly lastSequence: number;
  /** Highest sample the broker acknowledged (0 before the first). */
  readonly lastAckedSequence: number;
  /** Samples acknowledged and deleted (cumulative). lastSequence = acknowledged + samples + droppedBy.outbox-full. */
  readonly acknowledged: number;
  /** Samples lost for any reason (cumulative): the sum of droppedBy. This is what the agent reports to the fleet. */
  readonly dropped: number;
  readonly droppedBy: Readonly<Record<DropReason, number>>;
  readonly stream: string;
}

/** Implemented on SQLite for gateways and in memory for simulated devices; test/contract checks both alike. */
export interface OutboxStore {
  /** Random id of this state folder's sample stream (sequence numbers are unique within it). */
  readonly stream: string;
  /**
   * Stores a sample with the next sequence number (from 1); drops the oldest beyond the bound. The number is
   * allocated in the same transaction as the row: when this throws, nothing changed and no number was used.
   */
  addSample(ts: number, metrics: Readonly<Record<string, number>>): number;
  /**
   * Counts a sample that could not be stored. Never throws: a count that cannot be written yet is kept in memory
   * (and in stats()) and written with the next change that can be.
   */
  recordDropped(reason: StoreFailure): void;
  addMessage(channel: DevicePublishChannel, payload: Uint8Array): number;
  /** Up to `max` stored samples with seq > after, oldest first. */
  samplesAfter(after: number, max: number): TelemetrySample[];
  /** Up to `max` stored messages with id > after, oldest first. */
  messagesAfter(after: number, max: number): PendingMessage[];
  /** Deletes acknowledged samples first..last (inclusive). */
  ackSamples(first: number, last: number): void;
  ackMessage(id: number): void;
  /** A small persisted key/value area for agent state (nonces live elsewhere). */
  getState(key: string): string | undefined;
  setState(key: string, value: string): void;
  stats(): OutboxStats;
  close(): void;
}

export interface OutboxOptions {
  readonly maxSamples: number;
  /** Most non-telemetry messages kept (reports, acks); past it the oldest are dropped. */
  readonly maxMessages?: number;
}
