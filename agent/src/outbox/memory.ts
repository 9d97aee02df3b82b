// The outbox in memory, for simulated devices (thousands per process, no file each); same contract as SQLite.
import type { DropReason, OutboxOptions, OutboxStore, PendingMessage } from './types.js';
import { newStreamId } from './sqlite.js';

export function createMemoryOutbox(opts: OutboxOptions): OutboxStore {
  const maxMessages = opts.maxMessages ?? 1000;
  const stream = newStreamId();
  // Samples are appended in seq order, so an array with a moving head is enough.
  let samples: { seq: number; ts: number; m: Record<string, number> }[] = [];
  let messages: PendingMessage[] = [];
  const state = new Map<string, string>();
  let lastSeq = 0;
  let lastAcked = 0;
  let acknowledged = 0;
  const droppedBy: Record<DropReason, number> = { 'outbox-full': 0, 'disk-full': 0, 'write-failed': 0 };
  let nextId = 1;

  return {
    stream,
    addSample(ts, metrics) {
      const seq = ++lastSeq;
      samples.push({ seq, ts, m: { ...metrics } });
      if (samples.length > opts.maxSamples) {
        const n = samples.length - opts.maxSamples;
        samples = samples.slice(n);
        droppedBy['outbox-full'] += n;
      }
      return seq;
    },
    recordDropped(reason) {
      droppedBy[reason]++;
    },
    addMessage(channel, payload) {
      const id = nextId++;
      messages.push({ id, channel, payload });
      if (messages.length > maxMessages) messages = messages.slice(messages.length - maxMessages);
      return id;
    },
    samplesAfter(after, max) {
      const out = [];
      for (const s of samples) {
        if (s.seq <= after) continue;
        out.push({ seq: s.seq, ts: s.ts, m: { ...s.m } });
        if (out.length >= max) break;
      }
      return out;
    },
    messagesAfter(after, max) {
      // Asked before every publish, mostly of an empty list: no copy of the whole list each time.
      const out: PendingMessage[] = [];
      for (const m of messages) {
        if (out.length >= max) break;
        if (m.id > after) out.push(m);
      }
      return out;
    },
    ackSamples(first, last) {
      const before = samples.length;
      samples = samples.filter((s) => s.seq < first || s.seq > last);
      acknowledged += before - samples.length;
      if (last > lastAcked) lastAcked = last;
    },
    ackMessage(id) {
      messages = messages.filter((m) => m.id !== id);
    },
    getState: (key) => state.get(key),
    setState: (key, value) => void state.set(key, value),
    stats() {
      return {
        outboxDepth: samples.length + messages.length,
        samples: samples.length,
        messages: messages.length,
        lastSequence: lastSeq,
        lastAckedSequence: lastAcked,
        acknowledged,
        dropped: droppedBy['outbox-full'] + droppedBy['disk-full'] + droppedBy['write-failed'],
        droppedBy: { ...droppedBy },
        stream,
      };
    },
    close() {},
  };
}
