// The peer of bench/operator-api: the same page of devices (the registry's own query, 100 rows from the same
// fleet.db) answered by a bare node:https handler, with no framework, validation, token or audit. What is left
// is the floor: TLS, SQLite and JSON.
// Run: node --import tsx bench/lib/bare-devices-server.ts --data DIR --port N
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDb } from '../../broker/src/db/open.js';
import { createRegistry } from '../../broker/src/db/registry.js';

const { values } = parseArgs({ options: { data: { type: 'string' }, port: { type: 'string' } } });
const data = values.data!;
const db = openDb(join(data, 'fleet.db'));
const registry = createRegistry(db);
const server = createServer(
  { key: readFileSync(join(data, 'pki', 'server.key')), cert: readFileSync(join(data, 'pki', 'server.crt')) },
  (req, res) => {
    const limit = Number(new URL(req.url ?? '/', 'https://x').searchParams.get('limit') ?? 100);
    const items = registry.page({ limit: limit + 1 });
    const body = JSON.stringify({
      items: items.slice(0, limit),
      next: items.length > limit ? items[limit - 1]!.id : null,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  },
);
server.keepAliveTimeout = 5000;
server.listen(Number(values.port), '127.0.0.1', () => process.stdout.write('listening\n'));
