// Orchestrates one scan: plan targets (discovery or a port list), observe every service in parallel under a
// connection limit and a total time budget, run the checks, and build the scored report.
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEVICE_ID_PATTERN } from '../../../shared/src/topics.js';
import type { ExposureReport, ExposureService } from '../../../shared/src/messages/exposure.js';
import { widestBind } from './addresses.js';
import { runChecks } from './checks/index.js';
import { discoverListening } from './discovery/index.js';
import { defaultEnv, type ScanEnv } from './env.js';
import { ScanError } from './errors.js';
import { createLimiter } from './limit.js';
import { ScanTimeout, type ProbeContext } from './net/conn.js';
import { observeTcp } from './probes/identify.js';
import { LLM_DEFAULTS, type LlmProbeLevel } from './probes/llm.js';
import { probeSsdp } from './probes/ssdp.js';
import { buildReport } from './report.js';
import { parsePortList, planList, planListening, resolveTarget, type PlannedTarget, type PortSpec } from './targets.js';
import type { ListeningService, ServiceObservation } from './types.js';

export interface ScanOptions {
  /** Address or host name to probe; default: each socket on its own bind address (loopback for wildcards). */
  readonly target?: string;
  /** 'listening' (default): every listening socket of this host; or explicit ports. */
  readonly ports?: 'listening' | readonly PortSpec[] | string;
  /** Allow a target that is not one of this host's addresses. */
  readonly allowRemote?: boolean;
  /** Default-credential tries and the login rate-limit burst (default true). */
  readonly credentialChecks?: boolean;
  /** AI-endpoint probes: none, safe (default: detection, auth, model, injection, leak, consumption) or all. */
  readonly llmProbes?: LlmProbeLevel;
  /** Time budget for every llm.* probe on one AI endpoint, in ms (default 20 000, and never past timeoutMs). */
  readonly llmBudgetMs?: number;
  /** Total time budget in ms (default 20 000). */
  readonly timeoutMs?: number;
  /** Longest single exchange in ms (default 1 500). */
  readonly probeTimeoutMs?: number;
  /** Wait for a server-first banner in ms (default 300). */
  readonly bannerWaitMs?: number;
  /** Most probe connections open at once (default 16). */
  readonly concurrency?: number;
  /** Device id written into the report (default: derived from the host name). */
  readonly deviceId?: string;
  /** Where /proc is (tests point it at fixtures). */
  readonly procRoot?: string;
  readonly env?: Partial<ScanEnv>;
}

export const SCAN_DEFAULTS = Object.freeze({
  timeoutMs: 20_000,
  probeTimeoutMs: 1_500,
  bannerWaitMs: 300,
  idleMs: 120,
  concurrency: 16,
  maxReadBytes: 64 * 1024,
});

/** A device id from the host name, or "localhost" when nothing usable is left. */
export function defaultDeviceId(name = hostname()): string {
  const id = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 64);
  return DEVICE_ID_PATTERN.test(id) ? id : 'localhost';
}

async function observe(ctx: ProbeContext, plan: PlannedTarget): Promise<ServiceObservation | undefined> {
  const { target, listening } = plan;
  const base = { target, ...(listening ? { listening } : {}) };
  if (target.transport === 'udp') {
    const ssdp = await probeSsdp(ctx, target);
    // A silent UDP port is only a service when discovery saw it listening.
    if (ssdp) return { ...base, facts: ssdp, ...(ssdp.server ? { product: ssdp.server } : {}) };
    return listening ? { ...base, facts: { protocol: 'unknown' } } : undefined;
  }
  const seen = await observeTcp(ctx, target);
  if (!seen.open) return undefined;
  const { facts, product } = seen.assessment;
  return { ...base, facts, ...(product ? { product } : {}), ...(seen.tls ? { tls: seen.tls } : {}) };
}

function serviceEntry(o: ServiceObservation): ExposureService {
  const l: ListeningService | undefined = o.listening;
  return {
    port: o.target.port,
    transport: o.target.transport,
    bind: l ? widestBind(l.binds) : o.target.host,
    loopbackOnly: o.target.loopbackOnly,
    ...(l?.process ? { process: { pid: l.process.pid, name: l.process.name } } : {}),
    protocol: o.facts.protocol,
    tls: o.tls !== undefined,
    ...(o.product ? { product: o.product.slice(0, 128) } : {}),
    ...(l?.connections !== undefined ? { connections: l.connections } : {}),
    ...(noteOf(o) ? { note: noteOf(o)! } : {}),
  };
}

/** What the scan left unfinished on the service: today, AI checks cut off at their budget. */
function noteOf(o: ServiceObservation): string | undefined {
  const cutOff = o.facts.protocol === 'http' ? o.facts.ai?.cutOff : undefined;
  return cutOff ? `AI checks cut off: ${cutOff}`.replace(/[^\x20-\x7e]/g, '').slice(0, 200) : undefined;
}

async function plan(env: ScanEnv, opts: ScanOptions): Promise<{ plans: PlannedTarget[]; label: string }> {
  const ports = typeof opts.ports === 'string' ? parsePortList(opts.ports) : (opts.ports ?? 'listening');
  const resolved =
    opts.target === undefined ? undefined : await resolveTarget(env, opts.target, opts.allowRemote === true);
  const local = resolved === undefined || resolved.local;
  if (ports === 'listening') {
    if (!local)
      throw new ScanError(
        'SCAN_DISCOVERY_FAILED',
        'listening sockets can only be read on this host; give a port list to scan a remote target',
      );
    return {
      plans: planListening(await discoverListening(env, opts.procRoot), resolved?.host),
      label: resolved?.host ?? 'local',
    };
  }
  const host = resolved?.host ?? '127.0.0.1';
  // Discovery only adds bind addresses and owners; a host without /proc can still scan a list.
  const discovered = local ? await discoverListening(env, opts.procRoot).catch(() => []) : [];
  return { plans: planList(ports, host, local, discovered), label: host };
}

/** Runs one scan and returns the report the agent publishes (and `iot-agent scan --format json` prints). */
export async function runScan(opts: ScanOptions = {}): Promise<ExposureReport> {
  const env: ScanEnv = { ...defaultEnv, ...opts.env };
  const started = performance.now();
  const ts = env.now();
  const timeoutMs = opts.timeoutMs ?? SCAN_DEFAULTS.timeoutMs;
  const deadline = started + timeoutMs;
  const probeTimeoutMs = opts.probeTimeoutMs ?? SCAN_DEFAULTS.probeTimeoutMs;
  const ctx: ProbeContext = {
    env,
    limiter: createLimiter(opts.concurrency ?? SCAN_DEFAULTS.concurrency),
    probeTimeoutMs,
    bannerWaitMs: Math.min(opts.bannerWaitMs ?? SCAN_DEFAULTS.bannerWaitMs, probeTimeoutMs),
    idleMs: Math.min(SCAN_DEFAULTS.idleMs, probeTimeoutMs),
    maxReadBytes: SCAN_DEFAULTS.maxReadBytes,
    credentialChecks: opts.credentialChecks !== false,
    llm: {
      ...LLM_DEFAULTS,
      level: opts.llmProbes ?? LLM_DEFAULTS.level,
      budgetMs: opts.llmBudgetMs ?? LLM_DEFAULTS.budgetMs,
    },
    remaining: () => deadline - performance.now(),
  };
  const { plans, label } = await plan(env, opts);

  let timedOut = false;
  const done: (ServiceObservation | undefined)[] = new Array(plans.length);
  const work = Promise.all(
    plans.map(async (p, i) => {
      try {
        done[i] = await observe(ctx, p);
      } catch (err) {
        if (err instanceof ScanTimeout) timedOut = true;
        // A probe that failed in an unexpected way still leaves a discovered socket in the report.
        done[i] = p.listening
          ? { target: p.target, listening: p.listening, facts: { protocol: 'unknown' } }
          : undefined;
      }
    }),
  );
  // The budget is a promise to the caller: stragglers past it are left out, and the report says so.
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>(
    (resolve) => (timer = setTimeout(() => resolve('expired'), Math.max(0, deadline - performance.now()) + 250)),
  );
  if ((await Promise.race([work, expired])) === 'expired') timedOut = true;
  clearTimeout(timer);
  // Waits cut short by the deadline end quietly as "no answer"; a spent budget still means an incomplete scan.
  if (ctx.remaining() <= 0) timedOut = true;

  const observations = plans
    .map(
      (p, i) =>
        done[i] ??
        (timedOut && p.listening
          ? { target: p.target, listening: p.listening, facts: { protocol: 'unknown' as const } }
          : undefined),
    )
    .filter((o): o is ServiceObservation => o !== undefined);
  return buildReport({
    id: env.randomBytes(16).toString('base64url'),
    ts,
    deviceId: opts.deviceId ?? defaultDeviceId(),
    target: label,
    durationMs: performance.now() - started,
    timedOut,
    credentialChecks: ctx.credentialChecks,
    services: observations.map(serviceEntry),
    findings: observations.flatMap((o) => runChecks(o, ts)),
  });
}
