// The store-and-forward outbox contract: samples and reports wait here until the broker acknowledges them.
import type { DevicePublishChannel, TelemetrySample } from '../../../shared/src/index.js';

export interface PendingMessage {
  readonly id: number;
  readonly channel: DevicePublishChannel;
  readonly payload: Uint8Array;
}

export interface OutboxStats {
  /** Samples plus messages waiting for an acknowledgement. */
  readonly outboxDepth: number;
  readonly samples: number;
  readonly messages: number;
  /** Last sample made (0 before the first). */
  readonly lastSequence: number;
  /** Highest sample the broker acknowledged (0 before the first). */
  readonly lastAckedSequence: number;
  /** Samples dropped because the outbox was full (cumulative). */
  readonly dropped: number;
  readonly stream: string;
}

/** Implemented on SQLite for gateways and in memory for simulated devices; test/contract checks both alike. */
export interface OutboxStore {
  /** Random id of this state folder's sample stream (sequence numbers are unique within it). */
  readonly stream: string;
  /** Stores a sample with the next sequence number (from 1); drops the oldest beyond the bound. */
  addSample(ts: number, metrics: Readonly<Record<string, number>>): number;
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
