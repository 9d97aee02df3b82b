// The outbox contract, run against every OutboxStore implementation (SQLite on a gateway, memory in the simulator).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { OutboxOptions, OutboxStore } from '../../agent/src/index.js';

export function outboxContract(name: string, make: (opts: OutboxOptions) => OutboxStore): void {
  const t = suite(`outbox contract: ${name}`);

  t('sequence numbers start at 1 and increase by one', () => {
    const o = make({ maxSamples: 100 });
    assert.is(o.stats().lastSequence, 0);
    assert.equal([o.addSample(1, { a: 1 }), o.addSample(2, { a: 2 }), o.addSample(3, { a: 3 })], [1, 2, 3]);
    assert.equal(
      o.samplesAfter(0, 10).map((s) => s.seq),
      [1, 2, 3],
    );
    assert.equal(o.samplesAfter(1, 1), [{ seq: 2, ts: 2, m: { a: 2 } }]);
    o.close();
  });

  t('acknowledged samples are deleted and counted', () => {
    const o = make({ maxSamples: 100 });
    for (let i = 0; i < 5; i++) o.addSample(i, { i });
    o.ackSamples(1, 3);
    assert.equal(
      o.samplesAfter(0, 10).map((s) => s.seq),
      [4, 5],
    );
    const s = o.stats();
    assert.is(s.lastAckedSequence, 3);
    assert.is(s.outboxDepth, 2);
    o.ackSamples(1, 3); // a late duplicate ack is harmless
    assert.is(o.stats().lastAckedSequence, 3);
    o.close();
  });

  t('past the bound the oldest samples are dropped and the drop is counted', () => {
    const o = make({ maxSamples: 10 });
    for (let i = 1; i <= 25; i++) o.addSample(i, { i });
    const s = o.stats();
    assert.is(s.samples, 10);
    assert.is(s.dropped, 15);
    assert.is(s.droppedBy['outbox-full'], 15);
    assert.is(s.lastSequence, 25);
    assert.equal(
      o.samplesAfter(0, 100).map((x) => x.seq),
      [16, 17, 18, 19, 20, 21, 22, 23, 24, 25],
    );
    o.close();
  });

  t('a sample that could not be stored takes no sequence number and is counted with its reason', () => {
    const o = make({ maxSamples: 100 });
    assert.is(o.addSample(1, { a: 1 }), 1);
    o.recordDropped('disk-full');
    o.recordDropped('disk-full');
    o.recordDropped('write-failed');
    assert.is(o.addSample(2, { a: 2 }), 2, 'the next stored sample takes the next number: no gap');
    const s = o.stats();
    assert.equal([s.lastSequence, s.samples, s.dropped], [2, 2, 3]);
    assert.equal(s.droppedBy, { 'outbox-full': 0, 'disk-full': 2, 'write-failed': 1 });
    o.close();
  });

  t('the counts add up: lastSequence = acknowledged + waiting + dropped from a full outbox', () => {
    const o = make({ maxSamples: 5 });
    const check = (when: string) => {
      const s = o.stats();
      assert.is(s.lastSequence, s.acknowledged + s.samples + s.droppedBy['outbox-full'], when);
      assert.is(s.dropped, s.droppedBy['outbox-full'] + s.droppedBy['disk-full'] + s.droppedBy['write-failed']);
    };
    check('empty');
    for (let i = 1; i <= 4; i++) o.addSample(i, { i });
    o.ackSamples(1, 2);
    check('after an ack');
    for (let i = 5; i <= 12; i++) o.addSample(i, { i });
    check('past the bound');
    o.ackSamples(1, 9); // 1-2 already acknowledged, 3-7 dropped: only 8 and 9 are deleted
    o.ackSamples(8, 9); // a late duplicate
    o.recordDropped('disk-full');
    check('after acks over dropped and acknowledged samples');
    const s = o.stats();
    assert.equal([s.acknowledged, s.samples, s.droppedBy['outbox-full'], s.lastAckedSequence], [4, 3, 5, 9]);
    o.close();
  });

  t('messages keep their order and are deleted on ack', () => {
    const o = make({ maxSamples: 10, maxMessages: 3 });
    const ids = ['a', 'b', 'c', 'd'].map((x) => o.addMessage('exposure', Buffer.from(x)));
    const pending = o.messagesAfter(0, 10);
    assert.equal(
      pending.map((m) => Buffer.from(m.payload).toString()),
      ['b', 'c', 'd'],
      'bounded: oldest dropped',
    );
    o.ackMessage(ids[2]!);
    assert.equal(
      o.messagesAfter(0, 10).map((m) => Buffer.from(m.payload).toString()),
      ['b', 'd'],
    );
    assert.is(o.messagesAfter(ids[1]!, 10).length, 1);
    o.close();
  });

  t('state values round-trip', () => {
    const o = make({ maxSamples: 10 });
    assert.is(o.getState('x'), undefined);
    o.setState('x', '1');
    o.setState('x', '2');
    assert.is(o.getState('x'), '2');
    assert.match(o.stream, /^[A-Za-z0-9_-]{8,64}$/);
    o.close();
  });

  t.run();
}
