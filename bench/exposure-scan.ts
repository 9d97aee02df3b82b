// bench/exposure-scan: `iot-agent scan` against `nmap -sV` on the same local services, in one run. Each tool's wall
// time and how many services it named correctly. Targets: scan ≥ 5× faster than nmap -sV, at least as many services
// named, and the whole local scan under 3 s. The scanner runs as an esbuild bundle of agent/src/scan/cli.ts (the same
// options as scripts/build.mjs), started with plain `node`, so the time includes Node start-up.
// With AI endpoints (issue 17): a second scan of 5 fake AI endpoints plus the usual services, --llm-probes all; its
// wall time, the requests it sent to each endpoint, and beside it the same requests sent one after another with
// curl, as a floor for the request cost. Target: all AI checks on the 5 endpoints under 30 s in total.
// Run: node --import tsx bench/exposure-scan.ts [--runs 1] [--keep] [--no-ai] [--ai-only (skip nmap)]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { caAndLeaf, selfSigned } from '../test/fixtures/scan/certs.js';
import * as S from '../test/fixtures/scan/services.js';
import { startFakeAi, type FakeAi, type FakeKind } from '../test/helpers/fake-ai.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
    'no-ai': { type: 'boolean', default: false },
    'ai-only': { type: 'boolean', default: false },
  },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const TARGET_SPEEDUP = 5;
const TARGET_LOCAL_S = 3;
const TARGET_AI_S = 30;

const work = mkdtempSync(join(tmpdir(), 'edgeward-bench-scan-'));
const services = new S.Services();

/** What each service is, as a person would name it: protocol, and whether it is wrapped in TLS. */
interface Truth {
  readonly label: string;
  readonly protocol: string;
  readonly tls: boolean;
  readonly run: S.Running;
}

async function bundle(): Promise<string> {
  const entry = join(work, 'scan-entry.ts');
  writeFileSync(
    entry,
    [
      `import { runCli } from ${JSON.stringify(join(root, 'shared/src/cli/run.ts'))};`,
      `import { scanCommand } from ${JSON.stringify(join(root, 'agent/src/scan/cli.ts'))};`,
      'const argv = process.argv.slice(2);',
      '// Called like the real binary: iot-agent scan [options].',
      "runCli(() => scanCommand(argv[0] === 'scan' ? argv.slice(1) : argv));",
      '',
    ].join('\n'),
  );
  const out = join(work, 'iot-agent-scan.mjs');
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    legalComments: 'none',
    external: ['better-sqlite3', 'cbor-extract', 'bufferutil', 'utf-8-validate'],
    banner: {
      js:
        "import { createRequire as __edgewardCreateRequire } from 'node:module';\nconst require = " +
        '__edgewardCreateRequire(import.meta.url);',
    },
    logLevel: 'warning',
    nodePaths: [join(root, 'node_modules')],
  });
  return out;
}

function nmapNames(xml: string): Map<number, { name: string; tunnel: string; product: string }> {
  const out = new Map<number, { name: string; tunnel: string; product: string }>();
  for (const m of xml.matchAll(/<port protocol="tcp" portid="(\d+)">([\s\S]*?)<\/port>/g)) {
    const svc = /<service ([^>]*)\/?>/.exec(m[2]!)?.[1] ?? '';
    const attr = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(svc)?.[1] ?? '';
    out.set(Number(m[1]), { name: attr('name'), tunnel: attr('tunnel'), product: attr('product') });
  }
  return out;
}

/** nmap's service names for each truth (nmap calls memcached "memcache"; HTTPS is http with tunnel="ssl"). */
function nmapCorrect(t: Truth, found: { name: string; tunnel: string } | undefined): boolean {
  if (!found) return false;
  const name = found.name.replace(/\?$/, '');
  const tls = found.tunnel === 'ssl' || name === 'https' || name.startsWith('ssl/');
  const base = name.replace(/^ssl\//, '').replace(/^https$/, 'http');
  const aliases: Record<string, string[]> = {
    http: ['http', 'http-proxy', 'http-alt'],
    memcached: ['memcache', 'memcached'],
    mqtt: ['mqtt'],
    redis: ['redis'],
    telnet: ['telnet'],
    modbus: ['modbus', 'mbap'],
  };
  return (aliases[t.protocol] ?? [t.protocol]).includes(base) && tls === t.tls;
}

const fakes: FakeAi[] = [];

function run(
  cmd: string,
  args: string[],
): Promise<{ ms: number; stdout: string; stderr: string; code: number | null }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ ms: performance.now() - t0, stdout, stderr, code }));
  });
}

/** 5 AI endpoints (each kind, gullible, so every probe runs) plus the usual services, scanned with --llm-probes all. */
async function aiBench(truths: Truth[], scanner: string): Promise<void> {
  const kinds: FakeKind[] = ['openai-compatible', 'ollama', 'ollama-stream', 'chat-assistant', 'openai-compatible'];
  for (const k of kinds) fakes.push(await startFakeAi(k, 'gullible'));
  const ports = [...truths.map((t) => t.run.port), ...fakes.map((f) => f.port)].join(',');
  const scan = await run(process.execPath, [
    scanner,
    'scan',
    '--ports',
    ports,
    '--format',
    'json',
    '--device-id',
    'bench-host',
    '--llm-probes',
    'all',
    '--timeout',
    '60s',
  ]);
  if (scan.code !== 0) throw new Error(`scan exited ${scan.code}: ${scan.stderr}`);
  const report = JSON.parse(scan.stdout) as {
    services: { port: number; product?: string }[];
    findings: { port: number; check: string }[];
  };
  console.log(`
AI endpoints: ${fakes.length} fakes + ${truths.length} usual services, --llm-probes all`);
  const widths = [30, 10, 12, 10, 40];
  console.log(line(['endpoint (port)', 'requests', 'POST bytes', 'curl floor', 'llm.* findings'], widths));
  let floorMs = 0;
  for (const f of fakes) {
    const reqs = f.requests();
    // The floor: the same requests, one after another, each a fresh curl process and connection.
    const t0 = performance.now();
    for (const r of reqs) {
      const url = `http://127.0.0.1:${f.port}${r.path}`;
      const args =
        r.method === 'POST'
          ? ['-s', '-o', '/dev/null', '-H', 'Content-Type: application/json', '--data-binary', r.body, url]
          : ['-s', '-o', '/dev/null', '-X', r.method, url];
      await run('curl', args);
    }
    const ms = performance.now() - t0;
    floorMs += ms;
    const svc = report.services.find((s) => s.port === f.port);
    const checks = report.findings.filter((x) => x.port === f.port && x.check.startsWith('llm.')).length;
    const posts = reqs.filter((r) => r.method === 'POST');
    console.log(
      line(
        [
          `${(svc?.product ?? '?').split(' ')[0]} (${f.port})`,
          `${reqs.length} (${posts.length} POST)`,
          String(posts.reduce((n, r) => n + Math.max(0, r.bytes), 0)),
          `${(ms / 1000).toFixed(2)} s`,
          `${checks} of 6`,
        ],
        widths,
      ),
    );
  }
  console.log(
    `scan wall time ${(scan.ms / 1000).toFixed(2)} s (all services, AI probes included; target < ${TARGET_AI_S} s): ` +
      `${scan.ms < TARGET_AI_S * 1000 ? 'met' : 'MISSED'}; curl floor for the same requests, sequential: ` +
      `${(floorMs / 1000).toFixed(2)} s`,
  );
}

function line(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => c.padEnd(widths[i]!))
    .join('  ')
    .trimEnd();
}

try {
  const { leaf } = caAndLeaf(work);
  const weak = selfSigned(work, 'tls10', 1024);
  const truths: Truth[] = [
    {
      label: 'mosquitto, anonymous',
      protocol: 'mqtt',
      tls: false,
      run: await S.startMosquitto(work, { anonymous: true }),
    },
    { label: 'redis-server, no auth', protocol: 'redis', tls: false, run: await S.startRedis() },
    { label: 'memcached', protocol: 'memcached', tls: false, run: await S.startMemcached() },
    { label: 'HTTP, listing/.env/CORS/banner/trace', protocol: 'http', tls: false, run: await S.startVulnerableHttp() },
    { label: 'openssl s_server TLS 1.0 -www', protocol: 'http', tls: true, run: await S.startOpensslTls10(weak) },
    {
      label: 'HTTPS, auth + headers',
      protocol: 'http',
      tls: true,
      run: await S.startHardenedHttps(leaf, 'bench-password-123456'),
    },
    { label: 'Telnet-style banner', protocol: 'telnet', tls: false, run: await S.startTelnetLike() },
    { label: 'Modbus/TCP', protocol: 'modbus', tls: false, run: await S.startModbusLike() },
  ];
  for (const t of truths) services.add(t.run);
  const ports = truths.map((t) => t.run.port).join(',');
  const scanner = await bundle();
  console.log(`services: ${truths.length} on 127.0.0.1 ports ${ports} (random, non-standard)`);
  console.log(
    `scanner:  ${scanner} (${(statSync(scanner).size / 1024).toFixed(0)} KiB esbuild bundle of ` +
      `agent/src/scan/cli.ts), run with node ${process.version}`,
  );

  for (let run = 1; !values['ai-only'] && run <= Number(values.runs); run++) {
    // The in-process servers need this event loop free, so both tools run as children and we wait on them async.
    const time = async (cmd: string, args: string[]) => {
      const t0 = performance.now();
      return new Promise<{ ms: number; stdout: string; stderr: string; code: number | null }>((resolve) => {
        const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ ms: performance.now() - t0, stdout, stderr, code }));
      });
    };
    const ours = await time(process.execPath, [
      scanner,
      'scan',
      '--ports',
      ports,
      '--format',
      'json',
      '--device-id',
      'bench-host',
    ]);
    if (ours.code !== 0) throw new Error(`scan exited ${ours.code}: ${ours.stderr}`);
    const report = JSON.parse(ours.stdout) as {
      services: { port: number; protocol: string; tls: boolean }[];
      findings: unknown[];
      score: number;
      grade: string;
    };
    const nmap = await time('nmap', ['-sV', '-Pn', '-n', '-p', ports, '127.0.0.1', '-oX', '-']);
    if (nmap.code !== 0) throw new Error(`nmap exited ${nmap.code}: ${nmap.stderr}`);
    const named = nmapNames(nmap.stdout);

    const widths = [46, 10, 18, 18];
    console.log(`\nrun ${run}: what each tool named`);
    console.log(line(['service (port)', 'truth', 'iot-agent scan', 'nmap -sV'], widths));
    let oursOk = 0;
    let nmapOk = 0;
    for (const t of truths) {
      const s = report.services.find((x) => x.port === t.run.port);
      const ok = s !== undefined && s.protocol === t.protocol && s.tls === t.tls;
      const n = named.get(t.run.port);
      const nok = nmapCorrect(t, n);
      oursOk += ok ? 1 : 0;
      nmapOk += nok ? 1 : 0;
      const truth = `${t.tls ? 'tls/' : ''}${t.protocol}`;
      const mine = s ? `${s.tls ? 'tls/' : ''}${s.protocol}` : '-';
      const theirs = n ? `${n.tunnel ? `${n.tunnel}/` : ''}${n.name || '?'}` : '-';
      console.log(
        line(
          [`${t.label} (${t.run.port})`, truth, `${mine} ${ok ? 'ok' : 'WRONG'}`, `${theirs} ${nok ? 'ok' : 'WRONG'}`],
          widths,
        ),
      );
    }
    const speedup = nmap.ms / ours.ms;
    console.log(`\n${line(['tool', 'wall time', 'named correctly'], [16, 10, 16])}`);
    console.log(
      `${line(['iot-agent scan', `${(ours.ms / 1000).toFixed(2)} s`, `${oursOk}/${truths.length}`], [16, 10, 16])}  ` +
        ` (also: ${report.findings.length} findings, score ${report.score} ${report.grade})`,
    );
    console.log(line(['nmap -sV', `${(nmap.ms / 1000).toFixed(2)} s`, `${nmapOk}/${truths.length}`], [16, 10, 16]));
    console.log(
      `speed-up ${speedup.toFixed(1)}× (target ≥ ${TARGET_SPEEDUP}×): ${speedup >= TARGET_SPEEDUP ? 'met' : 'MISSED'}`,
    );
    console.log(`named ${oursOk} vs ${nmapOk} (target ≥ nmap): ${oursOk >= nmapOk ? 'met' : 'MISSED'}`);
    console.log(
      `local scan ${(ours.ms / 1000).toFixed(2)} s (target < ${TARGET_LOCAL_S} s): ` +
        `${ours.ms < TARGET_LOCAL_S * 1000 ? 'met' : 'MISSED'}`,
    );
  }
  if (!values['no-ai']) await aiBench(truths, scanner);
} finally {
  await Promise.all(fakes.map((f) => f.close()));
  await services.stopAll();
  if (!values.keep) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}
