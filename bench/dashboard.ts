// bench/dashboard: how fast the dashboard draws on a big, old fleet, in a real browser. A data folder is seeded
// with 10,000 devices and a year of history (bench/lib/dashboard-seed.ts), the fleet server runs on it, and
// Debian's Chromium (playwright-core) opens the overview and a device page; each is timed from navigation to
// fully drawn (the app sets main[data-ready] when every panel and chart is drawn), and the JSON bytes the API
// sent for it are counted. Targets (issue 15): overview under 1.5 s, under 500 KB of JSON. There is no peer
// dashboard on this machine to run beside it; the targets stand in for one and the ratio is to them.
//
// Run: node --import tsx bench/dashboard.ts [--devices 10000] [--days 365] [--rounds 5]
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { createDashboardSessions } from '../broker/src/db/dashboard-sessions.js';
import { createOperatorStore } from '../broker/src/db/operators.js';
import { createFleetServer } from '../broker/src/server.js';
import { createLogger, keyId, parsePublicKeyPem } from '../shared/src/index.js';
import { bundleDashboard } from '../scripts/bundles.mjs';
import { seedDashboardFleet } from './lib/dashboard-seed.js';
import { median } from './lib/procs.js';

const TARGET_MS = 1500;
const TARGET_BYTES = 500 * 1024;

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    days: { type: 'string', default: '365' },
    rounds: { type: 'string', default: '5' },
  },
});
const devices = Number(values.devices);
const days = Number(values.days);
const rounds = Number(values.rounds);

const work = mkdtempSync(join(tmpdir(), 'edgeward-bench-dashboard-'));
const dataDir = join(work, 'fleet');
const assets = join(work, 'dashboard');

console.log(`seeding ${devices} devices, ${days} days of history …`);
const seed = await seedDashboardFleet(dataDir, { devices, days });
console.log(
  `  ${seed.reports} reports, ${seed.findings} findings, ${seed.snapshots.day} daily and ${seed.snapshots.hour} ` +
    `hourly snapshots, ${seed.samples} samples, ${seed.events} events (${(seed.ms / 1000).toFixed(1)} s)`,
);
await bundleDashboard(assets);
const server = await createFleetServer({
  dataDir,
  mqttPort: 0,
  httpPort: 0,
  downloadPort: 0,
  dashboardDir: `${assets}/`,
  log: createLogger({ level: 'warn' }),
});
const origin = `https://localhost:${server.httpPort}`;

const ops = createOperatorStore(server.db);
const pub = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
const admin = ops.add({
  name: 'bench-admin',
  kid: keyId(parsePublicKeyPem(pub)),
  publicKey: pub,
  role: 'admin',
  createdBy: 'bench',
});
const link = () => `${origin}/login?t=${createDashboardSessions(server.db).createLink(admin.id).secret}`;

const { chromium } = await import('playwright-core');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
const errors: string[] = [];
page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

/** JSON bytes of the API answers from now until `stop()`. */
function countBytes(p: Page) {
  let bytes = 0;
  let requests = 0;
  const on = async (res: import('playwright-core').Response) => {
    if (!new URL(res.url()).pathname.startsWith('/api/v1/') || res.url().includes('/api/v1/stream')) return;
    requests++;
    const size = (await res.body().catch(() => Buffer.alloc(0))).length;
    bytes += size;
    if (process.env.BENCH_VERBOSE) {
      const t = res.request().timing();
      const path = res.url().slice(origin.length);
      console.log(`  ${t.responseEnd.toFixed(0).padStart(5)} ms ${String(size).padStart(7)} B ${path}`);
    }
  };
  p.on('response', on);
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 200));
      p.off('response', on);
      return { bytes, requests };
    },
  };
}

/** Time from starting the navigation to main[data-ready=view]. */
async function timed(view: string, go: () => Promise<unknown>) {
  const count = countBytes(page);
  const t0 = performance.now();
  await go();
  await page.waitForSelector(`main[data-ready="${view}"]`, { timeout: 60_000 });
  const ms = performance.now() - t0;
  return { ms, ...(await count.stop()) };
}

await page.goto(link());
await page.waitForSelector('main[data-ready="overview"]', { timeout: 60_000 });
const worst = (await page.getByTestId('worst-devices').locator('tbody tr a').first().textContent())!.trim();

const overview: { ms: number; bytes: number; requests: number }[] = [];
const device: { ms: number; bytes: number; requests: number }[] = [];
for (let i = 0; i < rounds; i++) {
  // A full load each time, from a blank page (the server sends no-store, so nothing comes from the cache).
  await page.goto('about:blank');
  overview.push(await timed('overview', () => page.goto(`${origin}/#/`)));
  await page.goto('about:blank');
  device.push(await timed('device', () => page.goto(`${origin}/#/devices/${worst}`)));
}

const row = (name: string, runs: typeof overview, targetMs: number | null, targetBytes: number | null) => {
  const ms = median(runs.map((r) => r.ms));
  const bytes = median(runs.map((r) => r.bytes));
  const requests = median(runs.map((r) => r.requests));
  return [
    name.padEnd(10),
    `${ms.toFixed(0).padStart(6)} ms`,
    targetMs ? `${(ms / targetMs).toFixed(2)}× of ${targetMs} ms` : '—',
    `${(bytes / 1024).toFixed(1).padStart(7)} KB JSON in ${requests} requests`,
    targetBytes ? `${(bytes / targetBytes).toFixed(2)}× of ${targetBytes / 1024} KB` : '—',
    `(runs: ${runs.map((r) => r.ms.toFixed(0)).join(', ')} ms)`,
  ].join('  ');
};

console.log(`\nbench/dashboard — ${devices} devices, ${days} days, median of ${rounds} full loads in Chromium`);
console.log(row('overview', overview, TARGET_MS, TARGET_BYTES));
console.log(row('device', device, null, null));
if (errors.length) console.log(`console errors: ${errors.join(' | ')}`);

await browser.close();
await server.close();
rmSync(work, { recursive: true, force: true });
