// Directory listings one folder down, against real servers on loopback: nginx with autoindex on one subfolder and
// Python's http.server (a common folder name, and an uncommon one the root page links to); Node fakes show that a
// catch-all never counts, that a root listing is still one finding, and that the search stays under its cap.
import { test as base } from 'uvu';
import * as assert from 'uvu/assert';
import type { ExposureReport } from '../../shared/src/messages/exposure.js';
import { FOLDER_NAMES, FOLDER_REQUEST_CAP } from '../../agent/src/scan/probes/http-folders.js';
import { testWithPeers } from '../helpers/peers.js';
import { tmpDir } from '../helpers/tmp.js';
import * as F from '../fixtures/scan/http-folders.js';
import * as S from '../fixtures/scan/services.js';

const test = testWithPeers(['nginx', 'python3'], 'apt-get install -y nginx python3');
const services = new S.Services();
base.after(() => services.stopAll());

const listings = (report: ExposureReport, port: number) =>
  report.findings.filter((f) => f.port === port && f.check === 'http.directory-listing');

test('nginx, autoindex on /firmware/ only: one finding, for that folder, naming its files', async () => {
  const {
    started: [nginx],
    report,
  } = await services.scan([F.startNginx(tmpDir('edgeward-nginx-'))], 'it-folders-01');
  assert.is(report.services.find((s) => s.port === nginx.port)?.protocol, 'http');
  const found = listings(report, nginx.port);
  assert.is(found.length, 1, JSON.stringify(report.findings.map((f) => f.check)));
  assert.match(found[0]!.evidence, /^GET \/firmware\/ \(a common folder name\) answered 200 \(text\/html/);
  assert.match(found[0]!.evidence, /titled "Index of \/firmware\/" with 2 entries \("gw-2\.4\.1\.bin", "signing-key/);
  assert.match(found[0]!.evidence, new RegExp(`curl -si 'http://127\\.0\\.0\\.1:${nginx.port}/firmware/'`));
  assert.is(found[0]!.severity, 'low', 'loopback only');
});

test("Python's http.server: backup/ found by its name, an uncommon folder found by the root page's link", async () => {
  const dir = tmpDir('edgeward-pyhttp-');
  const {
    started: [common, linked],
    report,
  } = await services.scan([F.startPythonHttp(dir, 'backup'), F.startPythonHttp(dir, 'linked')], 'it-folders-02');
  const [byName] = listings(report, common.port);
  assert.ok(byName, JSON.stringify(report.findings));
  assert.match(byName!.evidence, /^GET \/backup\/ \(a common folder name\) answered 200/);
  assert.match(byName!.evidence, /"Directory listing for \/backup\/" with 2 entries \("site\.db", "wifi\.conf"\)/);
  const [byLink] = listings(report, linked.port);
  assert.ok(byLink, JSON.stringify(report.findings));
  assert.match(byLink!.evidence, /^GET \/gw-export-2291\/ \(a folder linked from \/\) answered 200/);
  assert.is(listings(report, common.port).length + listings(report, linked.port).length, 2);
});

test('catch-alls never count; a root listing needs no folder requests; the cap holds; silence stops it', async () => {
  const {
    started: [listing, spa, root, links, silent],
    report,
  } = await services.scan(
    [
      F.startCountingHttp('catch-all-listing'),
      F.startCountingHttp('catch-all-spa'),
      F.startCountingHttp('root-listing'),
      F.startCountingHttp('many-links'),
      F.startCountingHttp('silent-folders'),
    ],
    'it-folders-03',
  );
  assert.not.ok(report.scan.timedOut);
  assert.is(listings(report, listing.port).length, 0, 'every path answers the same "Index of /" page');
  assert.is(listing.folderRequests(), 1, 'the random folder lists too, so the search stops there');
  assert.is(listings(report, spa.port).length, 0, 'every path answers the same app shell');
  assert.is(
    spa.folderRequests(),
    1 + FOLDER_NAMES.length,
    'no links, nothing lists: the baseline and each common name',
  );
  const atRoot = listings(report, root.port);
  assert.is(atRoot.length, 1);
  assert.match(atRoot[0]!.evidence, /^GET \/ answered 200/);
  assert.is(root.folderRequests(), 0, 'a listing at / needs no depth search');
  assert.is(listings(report, links.port).length, 0);
  assert.is(links.folderRequests(), FOLDER_REQUEST_CAP, '30 linked folders, capped');
  assert.is(silent.folderRequests(), 2, 'the first folder that goes unanswered ends the search');
  for (const s of [listing, spa, root, links, silent])
    assert.ok(s.requests() < 80, `${s.name}: ${s.requests()} requests`);
});

base.run();
