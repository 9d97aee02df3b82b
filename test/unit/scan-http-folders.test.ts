// The directory-listing depth search as pure functions: which folders it plans (linked first, capped, nothing that
// climbs or leaves the origin), what counts as a listing, and the random-folder baseline that rules out catch-alls.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runChecks } from '../../agent/src/scan/checks/index.js';
import { CHECKS } from '../../agent/src/scan/index.js';
import {
  countsAsFolderListing,
  FOLDER_NAMES,
  FOLDER_REQUEST_CAP,
  folderPlan,
  isDirectoryListing,
  LINKED_FOLDER_CAP,
  linkedFolders,
  listedEntries,
  RANDOM_FOLDER_PREFIX,
} from '../../agent/src/scan/probes/http-folders.js';
import type { HttpExchange, HttpResponse, ServiceObservation } from '../../agent/src/scan/types.js';

const html = (body: string, status = 200): HttpResponse => ({
  status,
  headers: { 'content-type': 'text/html' },
  body,
});
const NGINX =
  '<html><head><title>Index of /files/</title></head><body><h1>Index of /files/</h1><hr><pre>' +
  '<a href="../">../</a>\n<a href="keys.pem">keys.pem</a>\n<a href="fw-1.2.bin">fw-1.2.bin</a>\n</pre></body></html>';
const SPA = '<!doctype html><html><head><title>Gateway</title></head><body><div id="app"></div></body></html>';
const BASELINE = `${RANDOM_FOLDER_PREFIX}0a1b2c3d4e5f/`;
const x = (path: string, response?: HttpResponse): HttpExchange => ({
  method: 'GET',
  path,
  ...(response ? { response } : {}),
});

test('linkedFolders keeps same-origin folders one segment below / and nothing that climbs or leaves', () => {
  const root = [
    '<a href="backup/">',
    "<a href='./media/'>",
    '<a href=/pub/>',
    '<a class="x" href="/ota/">',
    '<a href="backup/">', // duplicate
    '<a href="../etc/">',
    '<a href="a/b/">',
    '<a href="/x/?q=1">',
    '<a href="http://evil.example/y/">',
    '<a href="//evil.example/z/">',
    '<a href="file.txt">',
    '<a href="..//">',
    '<a href="%2e%2e/">', // escapes are kept as they are; the server decides what they mean
  ].join('');
  assert.equal(linkedFolders(root), ['/backup/', '/media/', '/pub/', '/ota/', '/%2e%2e/']);
});

test('folderPlan: linked folders first (at most LINKED_FOLDER_CAP), then common names, deduplicated and capped', () => {
  const many = `${Array.from({ length: 20 }, (_, i) => `<a href="d${i}/">`).join('')}<a href="logs/">`;
  const plan = folderPlan(many);
  assert.is(plan.length, FOLDER_REQUEST_CAP - 1, 'one request is kept for the random-folder baseline');
  assert.equal(
    plan.slice(0, LINKED_FOLDER_CAP),
    Array.from({ length: LINKED_FOLDER_CAP }, (_, i) => `/d${i}/`),
  );
  assert.is(new Set(plan).size, plan.length);
  const plain = folderPlan('<a href="logs/">logs</a>');
  assert.is(plain[0], '/logs/');
  assert.is(plain.filter((p) => p === '/logs/').length, 1);
  assert.equal(
    plain.slice(1),
    FOLDER_NAMES.map((n) => `/${n}/`).filter((p) => p !== '/logs/'),
  );
});

test('a listing needs the title or heading AND an entry that is not the parent, a sort link or a URL', () => {
  assert.ok(isDirectoryListing(html(NGINX)));
  assert.equal(listedEntries(NGINX), ['keys.pem', 'fw-1.2.bin']);
  const python =
    '<!DOCTYPE HTML><html><head><title>Directory listing for /backup/</title></head><body>' +
    '<h1>Directory listing for /backup/</h1><ul><li><a href="db.sql">db.sql</a></li></ul></body></html>';
  assert.ok(isDirectoryListing(html(python)));
  const empty = '<html><title>Index of /x/</title><a href="../">../</a><a href="?C=N;O=D">Name</a></html>';
  assert.not.ok(isDirectoryListing(html(empty)), 'only parent and sort links');
  assert.not.ok(isDirectoryListing(html(SPA)));
  assert.not.ok(isDirectoryListing(html('<html><title>How to read an Index of /books</title></html>')));
  assert.not.ok(isDirectoryListing(html(NGINX, 404)));
  assert.not.ok(isDirectoryListing({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'Index of /' }));
});

test('the baseline rules: a listing counts only beside a random folder that neither lists nor matches it', () => {
  const folder = x('/files/', html(NGINX));
  assert.ok(countsAsFolderListing(folder, x(BASELINE, html('not found', 404))));
  assert.not.ok(countsAsFolderListing(folder, x(BASELINE)), 'a baseline with no answer rules nothing out');
  assert.ok(countsAsFolderListing(folder, x(BASELINE, html(SPA))), 'a SPA fallback differs from a real listing');
  assert.not.ok(countsAsFolderListing(folder, undefined), 'never without a baseline');
  assert.not.ok(countsAsFolderListing(folder, x(BASELINE, html(NGINX))), 'the random folder lists too');
  const echo = (p: string) => `<html><title>Index of ${p}</title><a href="a.txt">a.txt</a></html>`;
  assert.not.ok(
    countsAsFolderListing(x('/files/', html(echo('/files/'))), x(BASELINE, html(echo(BASELINE)))),
    'the same page with the path echoed',
  );
});

const httpObs = (exchanges: HttpExchange[]): ServiceObservation => ({
  target: { host: '127.0.0.1', port: 8080, transport: 'tcp', loopbackOnly: true },
  facts: { protocol: 'http', exchanges, nodeRed: false },
});
const listings = (o: ServiceObservation) => runChecks(o, 0).filter((f) => f.check === 'http.directory-listing');

test('the check: one finding for a folder listing, naming the folder, how it was found and a few entries', () => {
  const root = x('/', html(`${SPA}<a href="files/">files</a>`));
  const [f, ...rest] = listings(httpObs([root, x(BASELINE, html('nope', 404)), x('/files/', html(NGINX))]));
  assert.is(rest.length, 0);
  assert.match(f!.evidence, /^GET \/files\/ \(a folder linked from \/\) answered 200 \(text\/html, \d+ bytes\)/);
  assert.match(f!.evidence, /with 2 entries \("keys\.pem", "fw-1\.2\.bin"\)/);
  assert.match(f!.evidence, /curl -si 'http:\/\/127\.0\.0\.1:8080\/files\/'/);
  const common = listings(httpObs([x('/', html(SPA)), x(BASELINE, html('', 404)), x('/logs/', html(NGINX))]));
  assert.match(common[0]!.evidence, /^GET \/logs\/ \(a common folder name\)/);
});

test('the check: nothing from a catch-all, at / or below it', () => {
  const same = html(NGINX);
  const random = x('/edgeward-probe-00aa', same);
  assert.is(listings(httpObs([x('/', same), random])).length, 0, 'root answers like a random path');
  assert.is(listings(httpObs([x('/', same), random, x(BASELINE, same), x('/files/', same)])).length, 0);
  assert.is(listings(httpObs([x('/', html(SPA)), x('/files/', same)])).length, 0, 'no baseline, no finding');
  assert.is(listings(httpObs([x('/', same), x('/edgeward-probe-00aa', html('no', 404))])).length, 1, 'a real root');
});

test('hrefs are found in linear time on a hostile page of unclosed tags', () => {
  const hostile = '<a '.repeat(21_000); // 63 KB: the unbounded pattern took about 700 ms here, this one 20 ms
  const t0 = performance.now();
  assert.equal(linkedFolders(hostile), []);
  assert.ok(performance.now() - t0 < 250, `${performance.now() - t0} ms`);
});

test('the catalogue states the cap the code keeps', () => {
  assert.ok(CHECKS.get('http.directory-listing')!.evidence.includes(`at most ${FOLDER_REQUEST_CAP} requests`));
});

test.run();
