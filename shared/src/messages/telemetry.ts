// telemetry: a batch of samples with per-sample sequence numbers (device → backend, QoS 1).
import { array, int, literal, num, object, optional, record, str, type Infer } from '../schema.js';
import { MESSAGE_ID_PATTERN, messageId, timestamp } from './common.js';

export const MAX_SAMPLES_PER_MESSAGE = 500;
export const METRIC_NAME = /^[a-zA-Z][a-zA-Z0-9_.]{0,63}$/;

export const sampleSchema = object({
  /** Starts at 1 for a new stream and increases by one per sample; a gap means samples were lost. */
  seq: int({ min: 1 }),
  ts: timestamp(),
  m: record(METRIC_NAME, num(), { maxKeys: 32 }),
});

export const telemetrySchema = object({
  v: literal(1),
  id: messageId(),
  ts: timestamp(),
  /** Identifies the agent state folder the sequence numbers belong to (a wiped folder starts a new stream). */
  stream: str({ pattern: MESSAGE_ID_PATTERN, maxLength: 64 }),
  samples: array(sampleSchema, { minItems: 1, maxItems: MAX_SAMPLES_PER_MESSAGE }),
  /** Samples the agent dropped from its full outbox so far (cumulative). */
  dropped: optional(int({ min: 0 })),
});

export type TelemetrySample = Infer<typeof sampleSchema>;
export type TelemetryMessage = Infer<typeof telemetrySchema>;
