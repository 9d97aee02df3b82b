// The packet-size limit holds before aedes buffers anything: a fixed header announcing more than
// limits.maxPacketBytes closes the connection at once, whatever follows (or does not), and is audited and counted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFleetConfig } from '../../broker/src/config.js';
import { deviceTopic } from '../../shared/src/index.js';
import { createTestFleet, waitFor, type TestFleet } from '../helpers/fleet.js';

const LIMIT = 4096;
let fleet: TestFleet;

test.before(async () => {
  fleet = await createTestFleet(['gw-001', 'gw-002']);
  await fleet.start({ config: parseFleetConfig({ limits: { maxPacketBytes: LIMIT } }), auditWindowMs: 0 });
});
test.after(async () => {
  await fleet.close();
});

const connect = (id: string) => fleet.connect(id);

/** The MQTT remaining-length varint [MQTT-2.2.3]. */
function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A QoS 0 PUBLISH to the device's telemetry whose whole packet is `size` bytes (fits a 2-byte length). */
function publishOf(size: number, deviceId = 'gw-001'): Buffer {
  const topic = Buffer.from(deviceTopic(deviceId, 'telemetry'));
  const body = Buffer.alloc(size - 3);
  body.writeUInt16BE(topic.length, 0);
  topic.copy(body, 2);
  return Buffer.concat([Buffer.from([0x30, ...varint(body.length)]), body]);
}

const packetAudits = () =>
  fleet.db.prepare(`SELECT device_id, detail FROM audit WHERE event = 'limit.packet' ORDER BY id`).all() as {
    device_id: string | null;
    detail: string;
  }[];

/** Writes the pieces on the device's own TLS stream, one write each; resolves when the server has closed it. */
async function sendAndWaitForClose(pieces: Buffer[], what: string): Promise<void> {
  const c = await connect('gw-001');
  const closed = new Promise<void>((resolve) => c.stream.once('close', () => resolve()));
  for (const p of pieces) {
    c.stream.write(p);
    await new Promise((r) => setImmediate(r));
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    closed,
    new Promise<never>(
      (_, reject) =>
        (timer = setTimeout(
          () =>
            reject(
              new Error(
                `${what}: the connection stayed open. The packet-size guard (broker/src/mqtt/guarded-connection.ts, ` +
                  'the stream handed to aedes.handle) did not see the bytes before aedes buffered them',
              ),
            ),
          5000,
        )),
    ),
  ]).finally(() => clearTimeout(timer));
  c.end(true);
}

const cases: { what: string; pieces: () => Buffer[]; announced: number; reason: string }[] = [
  {
    what: 'a PUBLISH header announcing 10 MB, and only 16 bytes of its body',
    pieces: () => [Buffer.from([0x30, ...varint(10_000_000), ...Buffer.alloc(16)])],
    announced: 10_000_000 + 1 + 4,
    reason: 'too-large',
  },
  {
    what: 'the same header split over three writes, after two packets within the limit',
    pieces: () => {
      const header = Buffer.from([0x30, ...varint(10_000_000)]);
      return [
        Buffer.concat([publishOf(100), publishOf(LIMIT), header.subarray(0, 2)]),
        header.subarray(2, 3),
        header.subarray(3),
      ];
    },
    announced: 10_000_000 + 1 + 4,
    reason: 'too-large',
  },
  {
    what: 'a packet one byte over the limit',
    pieces: () => [publishOf(LIMIT + 1).subarray(0, 64)],
    announced: LIMIT + 1,
    reason: 'too-large',
  },
  {
    what: 'a remaining length of more than four bytes',
    pieces: () => [Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01])],
    announced: 0,
    reason: 'malformed-length',
  },
];

for (const c of cases) {
  test(`${c.what}: closed at once, audited as limit.packet (${c.reason}) and counted`, async () => {
    const before = packetAudits().length;
    const counted = fleet.server.metrics.disconnects.get({ reason: `packet-${c.reason}` });
    await sendAndWaitForClose(c.pieces(), c.what);
    const rows = await waitFor(
      () => (packetAudits().length > before ? packetAudits().slice(before) : undefined),
      'audit',
    );
    assert.is(rows.length, 1);
    assert.is(rows[0]!.device_id, 'gw-001');
    const detail = JSON.parse(rows[0]!.detail) as { reason: string; size: number; limit: number };
    assert.is(detail.reason, c.reason);
    assert.is(detail.limit, LIMIT);
    // The size the length field had announced when the guard stopped reading it: over the limit, at most the whole.
    if (c.reason === 'too-large') assert.ok(detail.size > LIMIT && detail.size <= c.announced, String(detail.size));
    assert.is(fleet.server.metrics.disconnects.get({ reason: `packet-${c.reason}` }), counted + 1);
  });
}

test('a packet of exactly the limit is served whole, and the device stays connected', async () => {
  const c = await connect('gw-002');
  let open = true;
  c.stream.once('close', () => (open = false));
  const packet = publishOf(LIMIT, 'gw-002');
  c.stream.write(packet);
  // Zeros are not a telemetry message: ingest rejects the payload with its code, and says how large it was.
  const topicLength = deviceTopic('gw-002', 'telemetry').length;
  const size = await waitFor(
    () => fleet.db.prepare(`SELECT size FROM ingest_rejects WHERE device_id = 'gw-002'`).pluck().get() as number,
    'the packet reached ingest',
  );
  assert.is(size, LIMIT - 3 - 2 - topicLength);
  await c.publishAsync(deviceTopic('gw-002', 'status'), Buffer.from('x'), { qos: 1 });
  assert.ok(open, 'a packet of exactly maxPacketBytes is within the limit');
  c.end(true);
});

test.run();
