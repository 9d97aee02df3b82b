// A closed-loop HTTPS load generator, run as its own process so that it never shares an event loop with what it
// measures: N clients on keep-alive connections, each sending its next request when the last one is answered
// (or, with --rate, at a fixed total rate spread over the clients). Prints one JSON line: requests, errors,
// statuses, req/s and latency percentiles.
// Run: node --import tsx bench/lib/http-load.ts --url URL --ca FILE [--header 'k: v'] [--clients 50] [--seconds 10]
//      [--rate 0]
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    ca: { type: 'string' },
    header: { type: 'string', multiple: true, default: [] },
    clients: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    /** Requests per second in total (0: as fast as answered). */
    rate: { type: 'string', default: '0' },
  },
});
const url = new URL(values.url!);
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const headers = Object.fromEntries(
  values.header.map((h) => [h.slice(0, h.indexOf(':')).trim(), h.slice(h.indexOf(':') + 1).trim()]),
);
const agent = new Agent({ ca: readFileSync(values.ca!), keepAlive: true, maxSockets: clients });

const latencies: number[] = [];
const statuses: Record<number, number> = {};
let errors = 0;
let bytes = 0;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = request(url, { agent, headers }, (res) => {
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => {
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end();
  });
}

const end = Date.now() + seconds * 1000;
const interval = rate > 0 ? (clients / rate) * 1000 : 0;
const started = Date.now();
await Promise.all(
  Array.from({ length: clients }, async (_, i) => {
    if (interval) await new Promise((r) => setTimeout(r, (interval / clients) * i));
    while (Date.now() < end) {
      const t = Date.now();
      await once();
      if (interval) await new Promise((r) => setTimeout(r, Math.max(0, interval - (Date.now() - t))));
    }
  }),
);
const elapsed = (Date.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    requests: latencies.length,
    errors,
    statuses,
    rps: latencies.length / elapsed,
    bytesPerRequest: latencies.length ? bytes / latencies.length : 0,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: latencies.at(-1) ?? 0,
  })}\n`,
);
