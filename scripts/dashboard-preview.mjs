#!/usr/bin/env node
// A developer's harness for the fleet dashboard: bundles broker/dashboard/ to .tmp/dashboard-preview/, serves it
// with the server's CSP and a fixture operator API (10,000 devices, a year of daily posture, a live event
// stream) on loopback, and optionally drives it in headless Chromium.
//   node scripts/dashboard-preview.mjs [--port 8090] [--role admin|viewer|…]   serve; open the printed URL
//   node scripts/dashboard-preview.mjs --check [--shots /tmp]                 visit every view in light and dark,
//     fail on a console error or CSP violation, print the time to data-ready="overview", save screenshots
// The fixtures follow broker/src/api/schemas.ts; they are not the server (that is the lead's dashboard server).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleDashboard, root } from './bundles.mjs';

const argv = process.argv.slice(2);
const flag = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const check = argv.includes('--check');
const port = Number(flag('--port', check ? '0' : '8090'));
const shots = flag('--shots', '/tmp');
let role = flag('--role', 'admin');

export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const outDir = '.tmp/dashboard-preview';
await bundleDashboard(outDir);

// ---- Fixtures

const DEVICES = 10_000;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const now = Date.now();
const iso = (ms) => new Date(ms).toISOString();
const CHECKS = [
  ['tls.none', 'high'],
  ['net.exposed-all-interfaces', 'medium'],
  ['http.security-headers', 'low'],
  ['mqtt.anonymous', 'critical'],
  ['ssh.password-auth', 'medium'],
  ['http.server-disclosure', 'info'],
  ['telnet.open', 'critical'],
  ['http.no-rate-limit', 'medium'],
];
const SCOPES = {
  viewer: ['devices:read', 'telemetry:read', 'reports:read', 'commands:read', 'events:read'],
  operator: ['devices:read', 'telemetry:read', 'reports:read', 'commands:read', 'events:read', 'commands:send'],
};
SCOPES['release-manager'] = [...SCOPES.operator, 'releases:write'];
SCOPES.admin = [
  ...SCOPES['release-manager'],
  'devices:write',
  'enrollment:write',
  'operators:read',
  'operators:write',
  'audit:read',
];

const score = (i) => Math.max(5, Math.min(100, 100 - ((i * 37) % 97)));
const gradeOf = (s) => (s >= 90 ? 'A' : s >= 80 ? 'B' : s >= 70 ? 'C' : s >= 60 ? 'D' : 'F');
const devices = Array.from({ length: DEVICES }, (_, i) => {
  const revoked = i % 97 === 5;
  return {
    id: `gw-${String(i + 1).padStart(5, '0')}`,
    type: i % 4 === 0 ? 'edge-x' : 'gateway',
    status: revoked ? 'revoked' : 'active',
    online: !revoked && i % 3 !== 0,
    lastSeen: i % 50 === 7 ? null : iso(now - (i % 3 === 0 ? (i % 40) * HOUR : 20_000)),
    lastAddress: i % 50 === 7 ? null : `10.${(i >> 8) & 255}.${i & 255}.2`,
    telemetryCount: (i * 7919) % 100_000,
    dropped: i % 11,
    rejectedCount: i % 13 === 0 ? 2 : 0,
    agentVersion: '0.1.0',
    certificateSerial: (0x1000 + i).toString(16).padStart(16, '0'),
    certificateExpires: iso(now + ((i % 400) + 1) * DAY),
    createdAt: iso(now - 400 * DAY),
  };
});
const byId = new Map(devices.map((d) => [d.id, d]));
const active = devices.filter((d) => d.status === 'active');

const events = Array.from({ length: 1500 }, (_, i) => {
  const kinds = ['tls.denied', 'acl.denied', 'connect.throttled', 'session.takeover', 'device.revoked', 'auth.denied'];
  return {
    id: 1500 - i,
    at: iso(now - i * 7 * 60_000),
    event: kinds[i % kinds.length],
    deviceId: i % 5 === 4 ? null : devices[(i * 13) % DEVICES].id,
    address: `192.0.2.${i % 250}`,
    actor: i % 6 === 4 ? 'alice' : null,
    detail: i % 2 ? { reason: i % 4 === 1 ? '=HYPERLINK("x")' : 'bad certificate', topic: 'fleet/x/cmd' } : {},
  };
});
const audit = Array.from({ length: 320 }, (_, i) => ({
  id: 320 - i,
  at: iso(now - i * 3 * HOUR),
  operator: ['alice', 'bob', 'carol'][i % 3],
  role: ['admin', 'operator', 'viewer'][i % 3],
  action: ['device.revoke', 'command.submit', 'operator.add', 'device.renew'][i % 4],
  objectType: 'device',
  objectId: devices[i % DEVICES].id,
  address: '127.0.0.1',
  via: i % 5 ? 'api' : 'cli',
  outcome: i % 9 === 0 ? 'denied' : 'ok',
  status: i % 9 === 0 ? 403 : 200,
  detail: i % 4 === 0 ? { revokeOld: true } : null,
}));

function posture(worst) {
  const grades = { A: 0, B: 0, C: 0, D: 0, F: 0 };
  let sum = 0;
  const reported = active.filter((_, i) => i % 20 !== 3);
  const rows = reported.map((d, i) => {
    const s = score(i);
    grades[gradeOf(s)]++;
    sum += s;
    return {
      deviceId: d.id,
      score: s,
      grade: gradeOf(s),
      findings: Math.round((100 - s) / 8),
      at: iso(now - i * 1000),
    };
  });
  rows.sort((a, b) => a.score - b.score || a.deviceId.localeCompare(b.deviceId));
  return {
    devices: reported.length,
    unreported: active.length - reported.length,
    averageScore: sum / reported.length,
    grades,
    worst: rows.slice(0, worst),
    commonFindings: CHECKS.map(([check, severity], i) => ({ check, severity, devices: 4000 - i * 450 })),
  };
}

function postureHistory(resolution, since, withChecks) {
  const step = resolution === 'hour' ? HOUR : DAY;
  const start = Math.floor(Date.parse(since) / step) * step;
  const periods = [];
  for (let t = start, k = 0; t <= now; t += step, k++) {
    const wave = Math.sin(k / 9) * 6;
    const reporting = Math.min(active.length, 2000 + k * 25);
    const avg = 62 + k * 0.04 + wave;
    const f = Math.round(reporting * 0.12);
    const d = Math.round(reporting * 0.18);
    const c = Math.round(reporting * (0.25 - wave / 100));
    const b = Math.round(reporting * 0.25);
    const grades = { A: reporting - f - d - c - b, B: b, C: c, D: d, F: f };
    const p = {
      start: iso(t),
      devices: active.length,
      reporting,
      averageScore: k === 3 ? null : Math.round(avg * 10) / 10,
      grades,
      scores: Array.from({ length: 11 }, (_, j) => Math.round(reporting / 11 + j)),
    };
    if (withChecks) p.checks = Object.fromEntries(CHECKS.map(([c], j) => [c, 400 - j * 30]));
    if (t + step > now) p.partial = true;
    periods.push(p);
  }
  return { resolution, periods };
}

function hours(key, f) {
  const first = Math.floor(now / HOUR) * HOUR - 23 * HOUR;
  return { hours: Array.from({ length: 24 }, (_, i) => ({ hour: iso(first + i * HOUR), [key]: f(i) })) };
}

function telemetry(from, to, limit, cursor) {
  const step = 5 * 60_000;
  const a = Math.ceil(Date.parse(from) / step) * step;
  const b = Date.parse(to);
  const start = a + Number(cursor ?? 0) * step;
  const items = [];
  for (let t = start; t < b && items.length < limit; t += step) {
    const k = t / step;
    items.push({
      ts: iso(t - 800),
      receivedAt: iso(t),
      stream: 's1',
      seq: k % 100_000,
      metrics: { cpu: 20 + 15 * Math.sin(k / 12), mem: 50 + (k % 30), temp: 41 + Math.cos(k / 30) * 3 },
    });
  }
  const consumed = Number(cursor ?? 0) + items.length;
  return { items, next: a + consumed * step < b ? String(consumed) : null };
}

function report(id, n) {
  const i = Number(id.slice(3));
  const s = score(i);
  return {
    deviceId: id,
    latest: {
      v: 1,
      id: `r${i}`,
      ts: now - 60_000,
      deviceId: id,
      scoringVersion: 1,
      score: s,
      grade: gradeOf(s),
      categories: { transport: 70, authentication: 55, exposure: 80, configuration: 90, ai: null },
      scan: { target: '127.0.0.1', durationMs: 1800, timedOut: false, credentialChecks: true, truncated: false },
      services: [],
      findings: CHECKS.slice(0, 4).map(([check, severity], j) => ({
        check,
        severity,
        category: 'transport',
        port: 1883 + j,
        transport: 'tcp',
        title: check,
        evidence: `Port ${1883 + j} answered in plaintext; CONNECT without credentials was accepted (rc=0).`,
        remediation: 'Serve the protocol over TLS only and close the plaintext port.',
        references: ['CWE-319'],
      })),
    },
    receivedAt: iso(now - 50_000),
    history: Array.from({ length: Math.min(n, 60) }, (_, k) => {
      const sc = Math.max(0, Math.min(100, s + Math.round(Math.sin(k / 3) * 8)));
      return {
        at: iso(now - k * 6 * HOUR),
        deviceTs: iso(now - k * 6 * HOUR - 900),
        score: sc,
        grade: gradeOf(sc),
        findings: 4,
      };
    }),
  };
}

const commands = (id) =>
  Array.from({ length: 7 }, (_, k) => ({
    id: `c${k}abcdefgh${id}`.slice(0, 20),
    deviceId: id,
    command: ['scan', 'reboot', 'rotate-cert'][k % 3],
    params: k % 3 === 0 ? { full: true } : {},
    operator: k % 2 ? 'a1b2c3d4e5f60718' : '0011223344556677',
    status: ['done', 'rejected', 'pending', 'expired', 'done', 'failed', 'sent'][k],
    reason: k === 1 ? 'replay' : null,
    detail: k === 5 ? 'exit 1' : null,
    attempts: 1,
    createdAt: iso(now - k * DAY),
    expiresAt: iso(now - k * DAY + HOUR),
  }));

// ---- The fixture API

let signedIn = true;
const streams = new Set();

function problem(res, status, code, detail) {
  res.writeHead(status, { 'content-type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'about:blank', status, code, title: code, detail }));
}

function page(list, q, max = 1000) {
  const limit = Math.min(Number(q.get('limit') ?? 100), max);
  const from = Number(q.get('cursor') ?? 0);
  const items = list.slice(from, from + limit);
  return { items, next: from + limit < list.length ? String(from + limit) : null };
}

function apiRoute(req, res, url) {
  const path = url.pathname.slice('/api/v1'.length);
  const q = url.searchParams;
  if (!signedIn) return problem(res, 401, 'UNAUTHENTICATED', 'No session');
  const scopes = SCOPES[role];
  const need = (scope) => {
    if (scopes.includes(scope)) return true;
    problem(res, 403, 'FORBIDDEN', `needs ${scope}`);
    return false;
  };
  const json = (body) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'POST' && path === '/session/logout') {
    if (req.headers['x-csrf-token'] !== 'csrf-fixture') return problem(res, 403, 'CSRF', 'bad csrf token');
    signedIn = false;
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'GET') return problem(res, 405, 'METHOD', 'GET only');
  if (path === '/session') {
    return json({ operator: 'alice', role, scopes, expiresAt: iso(now + 8 * HOUR), csrf: 'csrf-fixture' });
  }
  if (path === '/stream') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write(': hello\n\n');
    streams.add(res);
    req.on('close', () => streams.delete(res));
    return;
  }
  if (path === '/overview' && need('devices:read')) {
    const revoked = DEVICES - active.length;
    const online = active.filter((d) => d.online).length;
    const soon = active
      .filter((d) => Date.parse(d.certificateExpires) < now + 30 * DAY)
      .sort((a, b) => a.certificateExpires.localeCompare(b.certificateExpires));
    return json({
      at: iso(Date.now()),
      devices: { total: DEVICES, active: active.length, revoked, online, offline: active.length - online },
      certificates: {
        withinDays: 30,
        expiring: soon.length,
        soonest: soon
          .slice(0, 10)
          .map((d) => ({ deviceId: d.id, serial: d.certificateSerial, notAfter: d.certificateExpires })),
      },
      connections: online,
    });
  }
  if (path === '/telemetry/hourly' && need('telemetry:read')) return json(hours('samples', (i) => 9000 + i * 130));
  if (path === '/events/hourly' && need('events:read')) return json(hours('events', (i) => (i * 7) % 23));
  if (path === '/posture' && need('reports:read')) return json(posture(Number(q.get('worst') ?? 10)));
  if (path === '/posture/history' && need('reports:read')) {
    const since = q.get('since') ?? iso(now - 30 * DAY);
    return json(postureHistory(q.get('resolution') ?? 'day', since, q.get('checks') !== 'false'));
  }
  if (path === '/operators' && need('operators:read')) {
    return json({
      items: [{ name: 'alice', role: 'admin', kid: 'a1b2c3d4e5f60718', status: 'active' }],
    });
  }
  if (path === '/devices' && need('devices:read')) {
    const status = q.get('status');
    return json(page(status ? devices.filter((d) => d.status === status) : devices, q));
  }
  if (path === '/events' && need('events:read')) {
    const since = q.get('since');
    const list = events.filter(
      (e) =>
        (!q.get('event') || e.event === q.get('event')) &&
        (!q.get('deviceId') || e.deviceId === q.get('deviceId')) &&
        (!since || e.at >= since),
    );
    return json(page(list, q));
  }
  if (path === '/audit' && need('audit:read')) {
    const list = audit.filter(
      (r) =>
        (!q.get('operator') || r.operator === q.get('operator')) && (!q.get('action') || r.action === q.get('action')),
    );
    return json(page(list, q));
  }
  const m = /^\/devices\/([a-z0-9-]+)(\/telemetry|\/report|\/commands)?$/.exec(path);
  if (m) {
    const d = byId.get(m[1]);
    if (!d) return problem(res, 404, 'FLEET_NOT_FOUND', `no device ${m[1]}`);
    if (!m[2] && need('devices:read')) return json(d);
    if (m[2] === '/telemetry' && need('telemetry:read')) {
      const limit = Math.min(Number(q.get('limit') ?? 100), 1000);
      return json(telemetry(q.get('from') ?? iso(0), q.get('to') ?? iso(now), limit, q.get('cursor')));
    }
    if (m[2] === '/report' && need('reports:read')) return json(report(d.id, Number(q.get('history') ?? 20)));
    if (m[2] === '/commands' && need('commands:read')) return json(page(commands(d.id), q));
    return;
  }
  if (!res.headersSent) problem(res, 404, 'NOT_FOUND', `no route ${path}`);
}

// Live events on the stream: connection counts, new reports, security events.
let tick = 0;
const sender = setInterval(() => {
  tick++;
  const send = (event, data) => {
    for (const res of streams) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  send('connections', { count: 6400 + (tick % 7) });
  if (tick % 2 === 0) {
    const s = 40 + (tick % 50);
    send('report', { deviceId: 'gw-00002', score: s, grade: gradeOf(s), findings: 3, at: iso(Date.now()) });
  }
  if (tick % 3 === 0) send('security', { event: 'acl.denied', deviceId: 'gw-00042', at: iso(Date.now()) });
}, 1000);

const STATIC = { '/': 'index.html', '/app.js': 'app.js', '/app.css': 'app.css' };
const TYPES = { html: 'text/html; charset=utf-8', js: 'text/javascript', css: 'text/css' };

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname.startsWith('/api/v1/')) return apiRoute(req, res, url);
  const file = STATIC[url.pathname];
  if (!file) return problem(res, 404, 'NOT_FOUND', url.pathname);
  const body = await readFile(join(root, outDir, file));
  res.writeHead(200, {
    'content-type': TYPES[file.split('.').pop()],
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
});
await new Promise((r) => server.listen(port, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

if (!check) {
  console.log(`dashboard preview (${role}) at ${base}/ — Ctrl-C to stop`);
} else {
  const ok = await runChecks(base);
  clearInterval(sender);
  for (const s of streams) s.end();
  server.close();
  process.exit(ok ? 0 : 1);
}

async function runChecks(base) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium' });
  const problems = [];
  const views = [
    ['overview', '#/'],
    ['devices', '#/devices'],
    ['device', '#/devices/gw-00002'],
    ['events', '#/events'],
    ['audit', '#/audit'],
    ['check', '#/checks/tls.none'],
  ];
  try {
    for (const scheme of ['light', 'dark']) {
      role = 'admin';
      signedIn = true;
      const context = await browser.newContext({ colorScheme: scheme, viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${scheme} console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`${scheme} page error: ${e.message}`));
      const t0 = Date.now();
      await page.goto(`${base}/#/`);
      await page.waitForSelector('main[data-ready="overview"]', { timeout: 10_000 });
      console.log(`${scheme}: overview ready in ${Date.now() - t0} ms`);
      for (const [name, hash] of views) {
        await page.evaluate((h) => {
          location.hash = h;
        }, hash);
        await page.waitForSelector(`main[data-ready="${name}"]`, { timeout: 10_000 });
        await page.screenshot({ path: `${shots}/dash-${scheme}-${name}.png`, fullPage: true });
      }
      if (scheme === 'light') {
        // The telemetry's custom range: pick it, keep the proposed fields, show.
        await page.evaluate(() => {
          location.hash = '#/devices/gw-00002';
        });
        await page.waitForSelector('main[data-ready="device"]');
        await page.selectOption('#telemetry-range', 'custom');
        await page.fill('#telemetry-from', '2020-01-01T00:00');
        await page.click('form[aria-label="Custom time range"] button[type="submit"]');
        await page.waitForSelector('figure[data-testid="chart-telemetry"] figcaption:has-text("2026")');
        await page.screenshot({ path: `${shots}/dash-${scheme}-device-custom.png` });
        await page.evaluate(() => {
          location.hash = '#/';
        });
        await page.reload();
        await page.waitForSelector('main[data-ready="overview"]');
        // Keyboard: the first Tab reaches the skip link, Enter moves focus into main.
        await page.keyboard.press('Tab');
        const first = await page.evaluate(() => document.activeElement?.className);
        if (first !== 'skip-link') problems.push(`first Tab focused ${first}, not the skip link`);
        await page.keyboard.press('Enter');
        const focused = await page.evaluate(() => document.activeElement?.id);
        if (focused !== 'main') problems.push(`the skip link moved focus to ${focused}`);
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.click('[data-testid="csv-worst-devices"]'),
        ]);
        console.log(`csv: ${download.suggestedFilename()}`);
        await page.waitForTimeout(2500);
        const live = await page.textContent('[data-testid="connections"]');
        console.log(`live connections: ${live}`);
        await page.click('[data-testid="logout"]');
        await page.waitForSelector('main[data-ready="login"]');
        await page.screenshot({ path: `${shots}/dash-${scheme}-login.png` });
      }
      await context.close();
    }
    // A viewer sees neither audit nor (with its scopes) anything it may not read.
    role = 'viewer';
    signedIn = true;
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('console', (m) => m.type() === 'error' && problems.push(`viewer console: ${m.text()}`));
    await page.goto(`${base}/#/audit`);
    await page.waitForSelector('main[data-ready="error"]');
    if (await page.$('[data-testid="nav-audit"]')) problems.push('viewer sees nav-audit');
    await context.close();
  } finally {
    await browser.close();
  }
  for (const p of problems) console.error(p);
  return problems.length === 0;
}
