// The dashboard end to end in a real browser: Debian's Chromium, driven by playwright-core (never a downloaded
// browser), against a real fleet server whose devices sent real reports over MQTT. Logs in through one-time links,
// checks the numbers against the API, opens a device, watches a report arrive live, keeps a viewer out of the
// admin pages, refuses a used link, sends an expired session to the login view, and fails on any console error or
// CSP violation. Screenshots of every page go to a temp folder (printed), in light and dark.
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import * as assert from 'uvu/assert';
import { sampleReport } from '../../agent/src/scan/index.js';
import { createDashboardSessions } from '../../broker/src/db/dashboard-sessions.js';
import { createOperatorStore } from '../../broker/src/db/operators.js';
import { bundleDashboard } from '../../scripts/bundles.mjs';
import { deviceTopic, encode } from '../../shared/src/index.js';
import { createTestFleet, type TestFleet } from '../helpers/fleet.js';
import { addOperator } from '../helpers/operators.js';
import { testWithPeers } from '../helpers/peers.js';
import { caOf, rawRequest } from '../helpers/raw-https.js';

const CHROMIUM = '/usr/bin/chromium';
const test = testWithPeers(['chromium'], 'apt-get install chromium');

const DEVICES = ['gw-b01', 'gw-b02', 'gw-b03', 'gw-b04', 'gw-b05'];
let fleet: TestFleet;
let port: number;
let browser: Browser;
const shots = mkdtempSync(join(tmpdir(), 'edgeward-dashboard-shots-'));
/** Every console error, page error and CSP violation of every page: the last test asserts there are none. */
const problems: string[] = [];

function rng(seed: number) {
  let s = seed;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

async function report(id: string, seed: number): Promise<void> {
  const c = await fleet.connect(id);
  await c.publishAsync(deviceTopic(id, 'exposure'), encode(sampleReport(id, rng(seed))), { qos: 1 });
  await c.endAsync();
}

/** A one-time link for the operator, as `fleet dashboard link` makes it. */
function linkFor(operator: string): string {
  const op = createOperatorStore(fleet.db).byName(operator)!;
  const { secret } = createDashboardSessions(fleet.db).createLink(op.id);
  return `https://localhost:${port}/login?t=${secret}`;
}

/**
 * A page that records its problems. `refused`: the page is meant to meet a 401 (a spent link, an ended session),
 * which Chromium logs as a failed resource; only that exact line is allowed there, nothing else.
 */
async function newPage(context: BrowserContext, opts: { refused?: boolean } = {}): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (opts.refused && /^Failed to load resource: the server responded with a status of 401/.test(m.text())) return;
    problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  // Run by the browser before the page's own script (through the DevTools protocol, so the CSP does not apply).
  await page.addInitScript({
    content:
      "document.addEventListener('securitypolicyviolation', (e) => " +
      "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
  });
  return page;
}

async function context(): Promise<BrowserContext> {
  // The fleet CA is not in Chromium's store; the certificate itself is checked by the other tests.
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
}

const ready = (page: Page, view: string) => page.waitForSelector(`main[data-ready="${view}"]`, { timeout: 15_000 });
const text = async (page: Page, testid: string) => (await page.getByTestId(testid).first().textContent())?.trim();
const shot = (page: Page, name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

/** The API's answer through a bearer-less session cookie of the page's context. */
async function apiJson<T>(ctx: BrowserContext, path: string): Promise<T> {
  const cookies = await ctx.cookies();
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const r = await rawRequest(port, caOf(fleet.dataDir), { path, headers: { cookie } });
  assert.is(r.status, 200, r.text);
  return r.json as T;
}

test.before(async () => {
  fleet = await createTestFleet(DEVICES);
  const assets = mkdtempSync(join(tmpdir(), 'edgeward-dashboard-'));
  await bundleDashboard(assets);
  port = (await fleet.start({ dashboardDir: `${assets}/` })).httpPort;
  await addOperator(fleet.db, 'ada', 'admin');
  await addOperator(fleet.db, 'vera', 'viewer');
  for (const [i, id] of DEVICES.entries()) await report(id, i + 1);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  console.log(`dashboard screenshots: ${shots}`);
});

test.after(async () => {
  await browser?.close();
  await fleet?.close();
});

let admin: { ctx: BrowserContext; page: Page };

test('an operator logs in through a one-time link and sees the overview', async () => {
  const ctx = await context();
  const page = await newPage(ctx);
  await page.goto(linkFor('ada'));
  await ready(page, 'overview');
  assert.is(new URL(page.url()).pathname, '/', 'the link is gone from the address bar');
  const cookie = (await ctx.cookies()).find((c) => c.name === '__Host-edgeward-session');
  assert.ok(cookie?.httpOnly && cookie.secure && cookie.sameSite === 'Strict', JSON.stringify(cookie));
  await shot(page, 'overview');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'overview-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  admin = { ctx, page };
});

test('the numbers on the overview match the API', async () => {
  const { ctx, page } = admin;
  const overview = await apiJson<{ devices: Record<string, number>; connections: number }>(ctx, '/api/v1/overview');
  const posture = await apiJson<{ averageScore: number; grades: Record<string, number> }>(ctx, '/api/v1/posture');
  assert.is(await text(page, 'devices-total'), String(overview.devices.total));
  assert.is(await text(page, 'devices-online'), String(overview.devices.online));
  assert.is(await text(page, 'devices-offline'), String(overview.devices.offline));
  assert.is(await text(page, 'connections'), String(overview.connections));
  const average = await text(page, 'average-score');
  assert.ok(average?.includes(String(posture.averageScore)), `${average} shows ${posture.averageScore}`);
  for (const g of ['A', 'B', 'C', 'D', 'F']) {
    assert.is(await text(page, `grade-${g}`), String(posture.grades[g]), `grade ${g}`);
  }
  const worst = await page.getByTestId('worst-devices').locator('tbody tr').count();
  assert.is(worst, DEVICES.length);
});

test('a device that connects shows on the overview live: connections and online', async () => {
  const { page } = admin;
  const url = page.url();
  const before = Number(await text(page, 'devices-online'));
  const c = await fleet.connect(DEVICES[4]!);
  try {
    await page.getByTestId('connections').filter({ hasText: /^1$/ }).waitFor({ timeout: 15_000 });
    await page
      .getByTestId('devices-online')
      .filter({ hasText: new RegExp(`^${before + 1}$`) })
      .waitFor({ timeout: 15_000 });
    assert.is(page.url(), url, 'no reload, no navigation');
  } finally {
    await c.endAsync();
  }
  await page.getByTestId('connections').filter({ hasText: /^0$/ }).waitFor({ timeout: 15_000 });
});

test('a device opens from the worst devices, and a new report appears on it live', async () => {
  const { page } = admin;
  const first = page.getByTestId('worst-devices').locator('tbody tr a').first();
  const id = (await first.textContent())!.trim();
  await first.click();
  await ready(page, 'device');
  assert.match(page.url(), new RegExp(`#/devices/${id}$`));
  const rows = page.getByTestId('score-row');
  const before = await rows.count();
  assert.ok(before >= 1);
  await shot(page, 'device');
  await report(id, 999);
  // One more row than before, without a reload (a locator waits; a string to evaluate would be refused by the CSP).
  await rows.nth(before).waitFor({ timeout: 15_000 });
  assert.ok(page.url().includes(id), 'no navigation happened');
});

test('the other pages draw: devices, events, audit, a check', async () => {
  const { page } = admin;
  for (const [hash, view] of [
    ['#/devices', 'devices'],
    ['#/events', 'events'],
    ['#/audit', 'audit'],
  ] as const) {
    await page.goto(`https://localhost:${port}/${hash}`);
    await ready(page, view);
    await shot(page, view);
  }
  const posture = await apiJson<{ commonFindings: { check: string }[] }>(admin.ctx, '/api/v1/posture');
  await page.goto(`https://localhost:${port}/#/checks/${posture.commonFindings[0]!.check}`);
  await ready(page, 'check');
  await shot(page, 'check');
});

test('Export CSV writes the whole list, every page of it, not the page on screen', async () => {
  const { page } = admin;
  // A hostile actor name: a spreadsheet would run it as a formula if the cell began with '='.
  const insert = fleet.db.prepare(`INSERT INTO audit (at, event, actor, detail) VALUES (?, 'test.csv', ?, ?)`);
  for (let i = 0; i < 250; i++) insert.run(Date.now(), '=HYPERLINK("http://x")', JSON.stringify({ n: i }));
  await page.goto(`https://localhost:${port}/#/events`);
  await ready(page, 'events');
  assert.is(await page.getByTestId('events').locator('tbody tr').count(), 100, 'a page on screen');
  // A new event arrives live, on top, and once: the stream's ticks do not repeat what the page read (before the
  // events view dropped those, the 250 rows inserted just before the page loaded could show twice).
  const eventRows = page.getByTestId('events').locator('tbody tr');
  insert.run(Date.now(), 'live-actor', JSON.stringify({ n: 'live' }));
  await eventRows.nth(100).waitFor({ timeout: 15_000 });
  assert.match((await eventRows.first().textContent()) ?? '', /live-actor/);
  await page.waitForTimeout(2500); // two more ticks of the stream (1 s each)
  assert.is(await eventRows.count(), 101, 'the live event shown once, nothing shown twice');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv-events').click()]);
  const csv = await readFile((await download.path())!, 'utf8');
  const lines = csv.trimEnd().split(/\r?\n/);
  const stored = fleet.db.prepare('SELECT count(*) FROM audit').pluck().get() as number;
  assert.is(lines.length, stored + 1, 'a header and every event');
  assert.not.match(csv, /(^|,)"?=/m, 'no cell begins with =');
  assert.match(csv, /'=HYPERLINK/, 'the hostile cell is kept as text');
});

test('a viewer does not see the admin pages, and cannot reach them', async () => {
  const ctx = await context();
  const page = await newPage(ctx);
  await page.goto(linkFor('vera'));
  await ready(page, 'overview');
  assert.is(await page.getByTestId('nav-audit').count(), 0, 'no audit link for a viewer');
  await page.goto(`https://localhost:${port}/#/audit`);
  await page.waitForSelector('main[data-ready]', { timeout: 15_000 });
  assert.is.not(await page.locator('main').getAttribute('data-ready'), 'audit');
  const cookies = (await ctx.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const r = await rawRequest(port, caOf(fleet.dataDir), { path: '/api/v1/audit', headers: { cookie: cookies } });
  assert.is(r.status, 403);
  await shot(page, 'viewer-audit-refused');
  await ctx.close();
});

test('a link cannot be used twice', async () => {
  const link = linkFor('vera');
  const one = await context();
  const p1 = await newPage(one);
  await p1.goto(link);
  await ready(p1, 'overview');
  const two = await context();
  const p2 = await newPage(two, { refused: true });
  const answer = await p2.goto(link);
  assert.is(answer?.status(), 401);
  assert.match((await p2.textContent('body')) ?? '', /used already/);
  assert.is((await two.cookies()).length, 0);
  await shot(p2, 'link-used');
  await one.close();
  await two.close();
});

test('an expired session is sent to the login view', async () => {
  const ctx = await context();
  const page = await newPage(ctx, { refused: true });
  await page.goto(linkFor('vera'));
  await ready(page, 'overview');
  // Only this session (the newest): the admin's goes on in the other tests.
  fleet.db
    .prepare(
      'UPDATE dashboard_sessions SET expires_at = ? ' +
        'WHERE created_at = (SELECT max(created_at) FROM dashboard_sessions)',
    )
    .run(Date.now() - 1);
  await page.reload();
  await ready(page, 'login');
  await shot(page, 'login');
  await ctx.close();
});

test('logout ends the session', async () => {
  const { ctx, page } = admin;
  await page.goto(`https://localhost:${port}/#/`);
  await ready(page, 'overview');
  await page.getByTestId('logout').click();
  await ready(page, 'login');
  const cookies = (await ctx.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const r = await rawRequest(port, caOf(fleet.dataDir), { path: '/api/v1/session', headers: { cookie: cookies } });
  assert.is(r.status, 401);
  await ctx.close();
});

test('no page logged a console error or a CSP violation', () => {
  assert.equal(problems, []);
});

test.run();
