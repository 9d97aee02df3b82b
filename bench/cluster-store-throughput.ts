// bench/cluster-store-throughput: QoS 1 telemetry throughput of one fleet server node whose device plane is on
// PostgreSQL (--cluster --postgres, docs/cluster.md) against the same node on its SQLite folder (--cluster, no
// --postgres) and a single node, back to back. Each device publishes sealed one-sample telemetry messages with a
// window of messages in flight, as fast as the node acknowledges; counted: PUBACKs. The load runs in this process
// beside the server (2 cores): the numbers compare the engines, they are not the server's ceiling (see
// bench/broker-throughput.ts for that). PostgreSQL runs durable (fsync, synchronous_commit on), SQLite FULL.
// Run: node --import tsx bench/cluster-store-throughput.ts [--clients 40] [--seconds 8] [--window 20]
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { deviceTopic, encode } from '../shared/src/index.js';
import { copySqliteToPostgres } from '../broker/src/store/copy.js';
import { createPgPool } from '../broker/src/store/postgres/pool.js';
import { openPostgresStore } from '../broker/src/store/postgres/store.js';
import type { FleetServer } from '../broker/src/server.js';
import { createTestFleet } from '../test/helpers/fleet.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { startRedis } from '../test/helpers/redis.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '40' },
    seconds: { type: 'string', default: '8' },
    window: { type: 'string', default: '20' },
  },
});
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);
const WINDOW = Number(values.window);
const ids = Array.from({ length: CLIENTS }, (_, i) => `bench-${String(i).padStart(4, '0')}`);

const [redis, postgres] = await Promise.all([startRedis(), startPostgres({ durable: true })]);
const storeUrl = await postgres.createDatabase();
const fleet = await createTestFleet(ids);
await (await openPostgresStore(storeUrl)).close();
const pool = createPgPool(storeUrl);
await copySqliteToPostgres(fleet.db, pool);
await pool.end();

let seq = 0;
const telemetry = () => {
  seq++;
  return encode({
    v: 1,
    id: `b-${seq}`,
    ts: Date.now(),
    stream: 'bench',
    samples: [{ seq, ts: Date.now(), m: { t: 21.5 } }],
  });
};

async function load(server: FleetServer): Promise<number> {
  const url = `mqtts://127.0.0.1:${server.mqttPort}`;
  const clients: MqttClient[] = await Promise.all(ids.map((id) => fleet.connect(id, { url })));
  let acked = 0;
  let counting = false;
  let running = true;
  const pump = async (c: MqttClient, id: string) => {
    const topic = deviceTopic(id, 'telemetry');
    while (running) {
      await c.publishAsync(topic, telemetry(), { qos: 1 });
      if (counting) acked++;
    }
  };
  const pumps = clients.flatMap((c, i) => Array.from({ length: WINDOW }, () => pump(c, ids[i]!)));
  await new Promise((r) => setTimeout(r, 2000));
  counting = true;
  const started = Date.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const rate = acked / ((Date.now() - started) / 1000);
  running = false;
  await Promise.allSettled(pumps);
  for (const c of clients) c.end(true);
  return rate;
}

const runs: [string, Parameters<typeof fleet.start>[0]][] = [
  ['single node, SQLite', {}],
  ['cluster node, SQLite', { cluster: { redisUrl: redis.url, nodeId: 'bench-sqlite' } }],
  ['cluster node, PostgreSQL', { cluster: { redisUrl: redis.url, nodeId: 'bench-pg', postgresUrl: storeUrl } }],
];
fleet.db.close();
for (const [name, opts] of runs) {
  const server = await fleet.start({ ...opts, synchronous: 'FULL' });
  const rate = await load(server);
  await server.close();
  console.log(`${name.padEnd(26)} ${Math.round(rate)} messages/s (QoS 1, ${CLIENTS} devices, window ${WINDOW})`);
}
await fleet.close();
await redis.stop();
await postgres.stop();
