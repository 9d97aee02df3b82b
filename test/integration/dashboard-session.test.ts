// The dashboard's login and session on a real server: a one-time link from `fleet dashboard link` (on the host and
// through the API) opens one session with a hardened cookie, works once and for five minutes only; the session
// obeys the operator's role, needs its CSRF token to change anything, ends at logout and when the operator is
// revoked; the overview's counts match the database; the live stream carries a new report and closes when the
// operator is revoked.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sampleReport } from '../../agent/src/scan/index.js';
import { deviceTopic, encode } from '../../shared/src/index.js';
import { createTestFleet, type TestFleet, waitFor } from '../helpers/fleet.js';
import { addOperator, apiClientFor } from '../helpers/operators.js';
import { caOf, rawRequest, type RawAnswer } from '../helpers/raw-https.js';
import { fleetCli } from '../helpers/run.js';

let fleet: TestFleet;
let ca: Buffer;
let port: number;

test.before(async () => {
  fleet = await createTestFleet(['gw-d1', 'gw-d2']);
  port = (await fleet.start()).httpPort;
  ca = caOf(fleet.dataDir);
  await addOperator(fleet.db, 'vera', 'viewer');
  await addOperator(fleet.db, 'ada', 'admin');
});
test.after(async () => {
  await fleet.close();
});

const get = (path: string, cookie?: string, headers: Record<string, string> = {}) =>
  rawRequest(port, ca, { path, headers: { ...(cookie ? { cookie } : {}), ...headers } });
const post = (path: string, cookie: string, headers: Record<string, string> = {}) =>
  rawRequest(port, ca, { method: 'POST', path, headers: { cookie, ...headers } });

async function linkFor(operator: string): Promise<string> {
  const r = await fleetCli(['dashboard', 'link', '--data', fleet.dataDir, '--operator', operator, '--json']);
  assert.is(r.code, 0, r.output);
  const out = JSON.parse(r.stdout) as { url: string; operator: string; expiresAt: string };
  assert.is(out.operator, operator);
  assert.ok(Date.parse(out.expiresAt) - Date.now() <= 5 * 60_000, 'expires within five minutes');
  return new URL(out.url).pathname + new URL(out.url).search;
}

/** Opens the link; returns the cookie pair to send back (name=value). */
async function login(operator: string): Promise<{ cookie: string; answer: RawAnswer }> {
  const answer = await get(await linkFor(operator));
  assert.is(answer.status, 303, answer.text);
  const set = String(answer.headers['set-cookie']);
  return { cookie: set.split(';')[0]!, answer };
}

test('a link opens one session with a hardened cookie, and works only once', async () => {
  const path = await linkFor('vera');
  const first = await get(path);
  assert.is(first.status, 303);
  assert.is(first.headers.location, '/');
  const set = String(first.headers['set-cookie']);
  assert.match(set, /^__Host-edgeward-session=[A-Za-z0-9_-]{43}; /);
  for (const attr of ['Path=/', 'Secure', 'HttpOnly', 'SameSite=Strict', 'Max-Age=3600']) {
    assert.ok(set.split('; ').includes(attr), `cookie has ${attr}: ${set}`);
  }
  const again = await get(path);
  assert.is(again.status, 401);
  assert.match(again.text, /used already/);
  assert.not.ok(again.headers['set-cookie'], 'no cookie for a spent link');
  const bogus = await get('/login?t=not-a-link');
  assert.is(bogus.status, 401);
  const events = fleet.db
    .prepare(`SELECT detail FROM audit WHERE event = 'api.denied' AND detail LIKE '%link-%'`)
    .pluck()
    .all() as string[];
  assert.ok(
    events.some((d) => d.includes('link-used')),
    'a reused link is a security event',
  );
  const trail = fleet.db
    .prepare(`SELECT operator, outcome FROM operator_audit WHERE action = 'session.login' ORDER BY id`)
    .all() as { operator: string; outcome: string }[];
  assert.equal(trail[0], { operator: 'vera', outcome: 'ok' });
  assert.ok(trail.some((t) => t.outcome === 'denied'));
});

test('an expired link is refused', async () => {
  const path = await linkFor('vera');
  fleet.db.prepare('UPDATE dashboard_links SET expires_at = ? WHERE used_at IS NULL').run(Date.now() - 1);
  const r = await get(path);
  assert.is(r.status, 401);
  assert.match(r.text, /expired/);
});

test("the session carries the operator's role: a viewer reads, but not the audit trail", async () => {
  const { cookie } = await login('vera');
  const session = await get('/api/v1/session', cookie);
  assert.is(session.status, 200, session.text);
  assert.is(session.json?.operator, 'vera');
  assert.is(session.json?.role, 'viewer');
  assert.not.ok((session.json!.scopes as string[]).includes('audit:read'));
  assert.type(session.json?.csrf, 'string');
  assert.is((await get('/api/v1/devices', cookie)).status, 200);
  assert.is((await get('/api/v1/audit', cookie)).status, 403);
  assert.is((await get('/api/v1/operators', cookie)).status, 403);
  // A session cannot mint links (it would renew itself for ever), even with its CSRF token.
  const csrf = String(session.json?.csrf);
  assert.is((await post('/api/v1/dashboard/links', cookie, { 'x-csrf-token': csrf })).status, 403);
});

test('changes through a session need its CSRF token; logout ends the session', async () => {
  const { cookie } = await login('ada');
  const session = await get('/api/v1/session', cookie);
  const csrf = String(session.json?.csrf);
  const noToken = await post('/api/v1/devices/gw-d2/revoke', cookie);
  assert.is(noToken.status, 403);
  assert.is(noToken.json?.reason, 'csrf');
  const wrong = await post('/api/v1/session/logout', cookie, { 'x-csrf-token': `${csrf.slice(1)}x` });
  assert.is(wrong.status, 403);
  assert.is((await get('/api/v1/devices/gw-d2', cookie)).json?.status, 'active', 'nothing changed');
  const out = await post('/api/v1/session/logout', cookie, { 'x-csrf-token': csrf });
  assert.is(out.status, 204, out.text);
  assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
  const after = await get('/api/v1/session', cookie);
  assert.is(after.status, 401);
  assert.is(after.json?.reason, 'session');
});

test('an expired session is refused', async () => {
  const { cookie } = await login('vera');
  assert.is((await get('/api/v1/session', cookie)).status, 200);
  fleet.db.prepare('UPDATE dashboard_sessions SET expires_at = ?').run(Date.now() - 1);
  assert.is((await get('/api/v1/session', cookie)).status, 401);
});

test('the posture trend without per-check counts, for the overview', async () => {
  const { cookie } = await login('vera');
  const full = (await get('/api/v1/posture/history', cookie)).json as { periods: Record<string, unknown>[] };
  const slim = (await get('/api/v1/posture/history?checks=false', cookie)).json as typeof full;
  assert.ok(full.periods.length >= 1);
  assert.equal(
    slim.periods.map((p) => Object.keys(p).includes('checks')),
    full.periods.map(() => false),
  );
  assert.equal(
    slim.periods.map((p) => p.grades),
    full.periods.map((p) => p.grades),
  );
});

test('the overview counts what the database holds', async () => {
  const { cookie } = await login('ada');
  const c = await fleet.connect('gw-d1');
  try {
    const o = await waitFor(async () => {
      const r = await get('/api/v1/overview', cookie);
      return r.json && (r.json.connections as number) === 1 ? r.json : undefined;
    }, 'one connection in the overview');
    const counts = fleet.db
      .prepare(`SELECT count(*) AS total, sum(status = 'active') AS active, sum(online) AS online FROM devices`)
      .get() as { total: number; active: number; online: number };
    const devices = o.devices as Record<string, number>;
    assert.is(devices.total, counts.total);
    assert.is(devices.active, counts.active);
    assert.is(devices.online, counts.online);
    assert.is(devices.offline, counts.active - counts.online);
    const certs = o.certificates as { withinDays: number; expiring: number };
    assert.is(certs.withinDays, 30);
    assert.is(certs.expiring, 0, 'test certificates last a year');
    const hourly = await get('/api/v1/events/hourly?hours=2', cookie);
    const hours = hourly.json?.hours as { hour: string; events: number }[];
    assert.is(hours.length, 3);
    const recorded = fleet.db
      .prepare('SELECT count(*) FROM audit WHERE at >= ?')
      .pluck()
      .get(Date.parse(hours[0]!.hour));
    assert.is(
      hours.reduce((n, h) => n + h.events, 0),
      recorded,
    );
  } finally {
    await c.endAsync();
  }
});

/** Opens the event stream with the cookie; collects events until closed. */
function stream(cookie: string) {
  const events: { event: string; data: Record<string, unknown> }[] = [];
  let ended = false;
  let status = 0;
  const req = request(
    { host: '127.0.0.1', port, path: '/api/v1/stream', ca, servername: 'localhost', headers: { cookie } },
    (res) => {
      status = res.statusCode ?? 0;
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let cut = buf.indexOf('\n\n');
        while (cut >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
          cut = buf.indexOf('\n\n');
        }
      });
      res.on('end', () => (ended = true));
      res.on('close', () => (ended = true));
    },
  );
  req.on('error', () => (ended = true));
  req.end();
  return { events, ended: () => ended, status: () => status, close: () => req.destroy() };
}

test('the live stream carries a new report, and ends when the operator is revoked', async () => {
  const temp = await addOperator(fleet.db, 'tim', 'viewer');
  const { cookie } = await login(temp.name);
  const s = stream(cookie);
  try {
    await waitFor(() => s.events.some((e) => e.event === 'connections'), 'the first connections event');
    assert.is(s.status(), 200);
    const c = await fleet.connect('gw-d2');
    await c.publishAsync(deviceTopic('gw-d2', 'exposure'), encode(sampleReport('gw-d2', () => 0.5)), { qos: 1 });
    await c.endAsync();
    const report = await waitFor(() => s.events.find((e) => e.event === 'report'), 'a report event');
    assert.is(report.data.deviceId, 'gw-d2');
    assert.type(report.data.score, 'number');
    // A security event arrives as the event log lists it.
    await get('/api/v1/devices', undefined);
    const security = await waitFor(() => s.events.find((e) => e.event === 'security'), 'a security event');
    assert.is(security.data.event, 'api.denied');
    assert.equal(Object.keys(security.data).sort(), ['actor', 'address', 'at', 'detail', 'deviceId', 'event', 'id']);
    const admin = apiClientFor(fleet.dataDir, port, {
      credential: (await addOperator(fleet.db, 'root', 'admin')).credential,
    });
    try {
      await admin.call('POST', `/api/v1/operators/${temp.name}/revoke`);
    } finally {
      admin.close();
    }
    await waitFor(() => s.ended(), 'the stream to end');
    assert.is((await get('/api/v1/session', cookie)).status, 401, 'the session ended with the operator');
  } finally {
    s.close();
  }
});

test('a link made through the API is for the caller itself, and only a token can make one', async () => {
  const op = await addOperator(fleet.db, 'ola', 'operator');
  const client = apiClientFor(fleet.dataDir, port, { credential: op.credential });
  try {
    const made = await client.call<{ operator: string; role: string; path: string }>('POST', '/api/v1/dashboard/links');
    assert.is(made.operator, 'ola');
    assert.is(made.role, 'operator');
    const opened = await get(made.path);
    assert.is(opened.status, 303);
    const cookie = String(opened.headers['set-cookie']).split(';')[0]!;
    assert.is((await get('/api/v1/session', cookie)).json?.role, 'operator');
  } finally {
    client.close();
  }
});

test('bad input to the new routes is a 4xx problem document that says what is wrong', async () => {
  const { cookie } = await login('ada');
  const problemOf = async (r: Promise<RawAnswer>, status: number) => {
    const a = await r;
    assert.is(a.status, status, a.text);
    assert.match(String(a.headers['content-type']), /^application\/problem\+json/);
    return a.json!;
  };
  // The login link: missing, too long, with something else beside it.
  await problemOf(get('/login'), 400);
  await problemOf(get(`/login?t=${'A'.repeat(500)}`), 400);
  await problemOf(get('/login?t=abc&next=https://evil.example'), 400);
  // A cookie that is not one of ours, or is huge, opens nothing.
  for (const value of ['../../etc/passwd', `${'A'.repeat(42)}!`, 'x'.repeat(4000)]) {
    const r = await problemOf(get('/api/v1/session', `__Host-edgeward-session=${value}`), 401);
    assert.is(r.reason, 'session');
  }
  // Counts per hour: only 1 to 168 whole hours.
  for (const hours of ['0', '169', 'abc', '1.5']) {
    const r = await problemOf(get(`/api/v1/telemetry/hourly?hours=${hours}`, cookie), 400);
    assert.is(r.code, 'API_INVALID_REQUEST');
  }
  await problemOf(get('/api/v1/events/hourly?hours=-1', cookie), 400);
  await problemOf(get('/api/v1/posture/history?checks=maybe', cookie), 400);
  // The routes that take no body refuse one before reading it.
  const session = await get('/api/v1/session', cookie);
  const csrf = String(session.json?.csrf);
  const withBody = (path: string) =>
    rawRequest(port, ca, {
      method: 'POST',
      path,
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: '{"a":1}',
    });
  await problemOf(withBody('/api/v1/session/logout'), 413);
  await problemOf(withBody('/api/v1/dashboard/links'), 413);
  assert.is((await get('/api/v1/session', cookie)).status, 200, 'the refused logout ended nothing');
});

test("fleet dashboard link --server: a link for the credential's own operator", async () => {
  const op = await addOperator(fleet.db, 'remy', 'viewer');
  const dir = mkdtempSync(join(tmpdir(), 'edgeward-link-'));
  writeFileSync(join(dir, 'remy.key'), op.credential, { mode: 0o600 });
  const server = `https://127.0.0.1:${port}`;
  const args = [
    '--server',
    server,
    '--ca',
    join(fleet.dataDir, 'pki', 'ca.crt'),
    '--credential',
    join(dir, 'remy.key'),
  ];
  const r = await fleetCli(['dashboard', 'link', ...args, '--json']);
  assert.is(r.code, 0, r.output);
  const out = JSON.parse(r.stdout) as { url: string; operator: string; role: string };
  assert.is(out.operator, 'remy');
  assert.is(out.role, 'viewer');
  assert.ok(out.url.startsWith(`${server}/login?t=`), out.url);
  const opened = await get(new URL(out.url).pathname + new URL(out.url).search);
  assert.is(opened.status, 303);
  const other = await fleetCli(['dashboard', 'link', ...args, '--operator', 'ada']);
  assert.is(other.code, 2, 'no naming another operator through the API');
});

test('fleet dashboard link: usage errors are exit 2 with a message', async () => {
  const noOperator = await fleetCli(['dashboard', 'link', '--data', fleet.dataDir]);
  assert.is(noOperator.code, 2);
  assert.match(noOperator.stderr, /--operator/);
  const badUrl = await fleetCli([
    'dashboard',
    'link',
    '--data',
    fleet.dataDir,
    '--operator',
    'vera',
    '--url',
    'http://x',
  ]);
  assert.is(badUrl.code, 2);
  const unknown = await fleetCli(['dashboard', 'link', '--data', fleet.dataDir, '--operator', 'nobody']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /no operator nobody/);
  const text = await fleetCli([
    'dashboard',
    'link',
    '--data',
    fleet.dataDir,
    '--operator',
    'vera',
    '--url',
    'https://fleet.example:9443/x',
  ]);
  assert.is(text.code, 0, text.output);
  assert.match(text.stdout, /^https:\/\/fleet\.example:9443\/login\?t=[A-Za-z0-9_-]{43}\n$/);
});

test.run();
