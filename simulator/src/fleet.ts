// createSimulator: the coordinator. Issues identities, spreads the devices over pools (worker processes or this
// process), waits for the fleet to connect, runs the scenario, drains, and builds the result from the pools'
// counters and what the server stored, read through its operator API.
import { rmSync } from 'node:fs';
import { getScenario, type FleetControl, type ScenarioContext, type ScenarioOutcome } from './scenarios/index.js';
import { createRunMaterials } from './attack/materials.js';
import type { DeviceFinal, PoolFinal, PoolSpec, PoolUpdateSpec } from './device-pool.js';
import { openRolloutControl, rolloutDeviceSpec, type RolloutControl } from './rollout-control.js';
import { SimulatorError } from './errors.js';
import { createFleetStats } from './fleet-stats.js';
import { checkDataDir, ensureIdentities, type Identity, simIds } from './identities.js';
import type { Summary } from './metrics.js';
import { resolveOptions, type ResolvedOptions, type SimulatorOptions } from './options.js';
import { progressLine } from './progress.js';
import { checkResult, RESULT_SCHEMA_ID, type Invariant, type Latency, type SimResult } from './result.js';
import { openServerView } from './server-view.js';
import { serverViewOptions } from './sim-operator.js';
import { canSpreadSources } from './source-addresses.js';
import { localPool, workerPool, type PoolHandle } from './workers/pool-handle.js';

export interface Simulator {
  /** Resolves with the result once the scenario, the drain and the shutdown are done. */
  readonly done: Promise<SimResult>;
  readonly options: ResolvedOptions;
  /** Ends the scenario early; `done` still resolves, with what was measured. */
  close(): Promise<SimResult | undefined>;
}

/** The start is given up when no device connected for this long. */
const STALLED_MS = 30_000;
/**
 * After its --settle, the settle goes on until every pool has caught up: this many reports in a row (one a second)
 * with an event-loop delay p99 under CAUGHT_UP_MS. While the fleet connects a worker runs seconds behind; a window
 * opened before it has worked that off measures the simulator's backlog, not the server (one of
 * bench/cluster-scale's 25,000-device runs: 13 s past a 10 s settle).
 */
const CAUGHT_UP_REPORTS = 2;
const CAUGHT_UP_MS = 100;
/** The settle ends at this many times --settle, caught up or not. */
const SETTLE_BOUND = 4;

/** Rollout drills: every device ends on a complete image (old or new), never on a partial one. */
function imagesInvariant(devices: readonly DeviceFinal[]): Invariant {
  const broken = devices.filter((d) => d.firmware && !d.firmware.working).map((d) => d.id);
  const versions: Record<string, number> = {};
  for (const d of devices) if (d.firmware) versions[d.firmware.version] = (versions[d.firmware.version] ?? 0) + 1;
  const spread = Object.entries(versions)
    .map(([v, n]) => `${n} on ${v}`)
    .join(', ');
  return {
    name: 'no-device-without-image',
    ok: broken.length === 0,
    detail:
      broken.length === 0
        ? `every device runs a complete image (${spread})`
        : `${broken.length} devices have no working image: ${broken.slice(0, 10).join(', ')}`,
  };
}

const latency = (s: Summary): Latency => ({ count: s.count, p50: s.p50, p99: s.p99, max: s.max });

export async function createSimulator(input: SimulatorOptions): Promise<Simulator> {
  const o = resolveOptions(input);
  const scenario = getScenario(o.scenario);
  checkDataDir(o.dataDir);
  const ids = simIds(o.prefix, o.devices);
  const rogueIds = scenario.rogues ? simIds(`${o.prefix}rogue-`, scenario.rogues(o)) : [];
  // The server view first: a server whose API cannot be read fails the run before any identity is issued. A
  // view given by the caller is the caller's to close.
  const server = o.serverView ?? (await openServerView(await serverViewOptions(o)));
  const closeView = () => {
    if (!o.serverView) server.close();
  };
  let identities: Identity[];
  try {
    ({ identities } = await ensureIdentities(o.dataDir, [...ids, ...rogueIds], o.onIssue));
  } catch (err) {
    closeView();
    throw err;
  }
  const rogues = identities.slice(ids.length);
  const materials = createRunMaterials();
  let update: PoolUpdateSpec | null = null;
  let rollout: RolloutControl | undefined;
  if (o.scenario === 'rollout') {
    try {
      rollout = await openRolloutControl(o);
      update = await rolloutDeviceSpec(o, rollout);
    } catch (err) {
      rollout?.close();
      closeView();
      throw err;
    }
  }
  const abort = new AbortController();

  const poolCount = Math.max(1, o.workers);
  const sources = o.servers.every((a) => canSpreadSources(a.host)) ? o.sourceAddresses : 0;
  const specs: PoolSpec[] = Array.from({ length: poolCount }, (_, p) => ({
    index: p,
    dataDir: o.dataDir,
    // Round robin, so that every pool spreads over every source address.
    devices: ids.flatMap((id, index) => (index % poolCount === p ? [{ id, index }] : [])),
    serverHost: o.serverHost,
    serverPort: o.serverPort,
    servers: o.servers,
    sourceAddresses: sources,
    viaProxy: scenario.viaProxy?.(o) ?? false,
    telemetryIntervalSeconds: o.telemetryIntervalSeconds,
    rampPerSecond: o.rampPerSecond / poolCount,
    maxConnecting: Math.max(1, Math.round(o.maxConnecting / poolCount)),
    reconnect: o.reconnect,
    exposure:
      scenario.throughput || o.exposureEveryMs === 0
        ? null
        : { firstWithinMs: o.telemetryIntervalSeconds * 1000, everyMs: o.exposureEveryMs },
    keepOutboxFull: scenario.throughput ? o.outboxDepth : 0,
    sealing: o.sealing,
    operatorPem: materials.operatorPem,
    trustDocument: materials.trustDocument,
    update,
  }));
  const stats = createFleetStats(poolCount);
  const pools: PoolHandle[] = specs.map((spec) =>
    o.workers > 0
      ? workerPool(spec, { script: o.workerScript, priority: o.workerPriority, onNote: o.onNote })
      : localPool(spec),
  );
  for (const p of pools) p.onReport((r) => stats.onReport(r));
  const poolOf = new Map(ids.map((id, i) => [id, pools[i % poolCount]!]));
  const failure = Promise.race(pools.map((p) => p.failed));
  failure.catch(() => {});

  const sleep = (ms: number) =>
    new Promise<boolean>((resolve) => {
      if (abort.signal.aborted) return resolve(false);
      const onAbort = () => {
        clearTimeout(t);
        resolve(false);
      };
      const t = setTimeout(() => {
        abort.signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  /** True once every pool has caught up (CAUGHT_UP_REPORTS), false after `timeoutMs` or an abort. */
  const caughtUp = async (timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    let calm = 0;
    let since = Date.now();
    while (calm < CAUGHT_UP_REPORTS) {
      if (Date.now() >= until || !(await sleep(200))) return false;
      if (!stats.reportedSince(since)) continue;
      since = Date.now();
      calm = stats.recentLoopDelay() < CAUGHT_UP_MS ? calm + 1 : 0;
    }
    return true;
  };
  /**
   * Waits until `n` devices are connected at once; null after `timeoutMs`, or after `stallMs` without a new
   * connection.
   */
  const waitConnected = async (
    n: number,
    timeoutMs: number,
    stallMs = Number.POSITIVE_INFINITY,
  ): Promise<number | null> => {
    const t0 = Date.now();
    let connects = stats.totals().connects;
    let progressAt = t0;
    while (Date.now() - t0 < timeoutMs && Date.now() - progressAt < stallMs) {
      const t = stats.totals();
      if (t.connected >= n) return Date.now() - t0;
      if (t.connects > connects) {
        connects = t.connects;
        progressAt = Date.now();
      }
      if (!(await sleep(100))) return null;
    }
    return null;
  };

  const fleet: FleetControl = {
    ids,
    connected: () => stats.totals().connected,
    totals: () => stats.totals(),
    waitConnected,
    cut: (ms) => {
      for (const p of pools) p.cut(ms);
    },
    restartServer: o.restartServer,
    offerFirmware: (id, bundle) =>
      poolOf.get(id)?.offerFirmware(id, bundle) ?? Promise.resolve('ERROR: unknown device'),
    phase: (name) => stats.phase(name),
    onTick: (cb) => stats.onTick(cb),
  };
  const ctx: ScenarioContext = {
    options: o,
    fleet,
    server,
    dataDir: o.dataDir,
    materials,
    ...(rollout ? { rollout } : {}),
    rogues,
    serverHost: o.serverHost,
    serverPort: o.serverPort,
    sleep,
    signal: abort.signal,
    note: (line) => o.onNote?.(line),
  };

  let stage = 'connecting';
  const enter = (name: string) => {
    stage = name;
    o.onStage?.(name);
  };
  const startedAt = Date.now();
  const ticker = setInterval(() => {
    const tick = stats.tick();
    o.onTick?.(
      tick,
      progressLine({
        stage,
        elapsedMs: Date.now() - startedAt,
        devices: o.devices,
        tick,
        totals: stats.totals(),
        latency: stats.liveLatency(),
      }),
    );
  }, 1000);

  async function run(): Promise<SimResult> {
    const guard = <T>(p: Promise<T>) => Promise.race([p, failure]);
    enter('connecting');
    await guard(Promise.all(pools.map((p) => p.started)));
    const waited = await guard(waitConnected(o.devices, o.connectTimeoutMs, STALLED_MS));
    if (stats.totals().connects === 0 && !abort.signal.aborted) {
      throw new SimulatorError(
        'SIM_SERVER_UNREACHABLE',
        `no virtual device connected to ${o.server} in ${Math.round((Date.now() - startedAt) / 1000)} s (errors: ` +
          `${JSON.stringify(stats.totals().errors)})`,
      );
    }
    if (waited === null)
      o.onNote?.(
        `only ${stats.totals().connected} of ${o.devices} devices connected (start stalled or --connect-timeout ` +
          `reached); running the scenario anyway`,
      );
    const connectSeconds = waited === null ? null : Math.round((Date.now() - startedAt) / 100) / 10;
    if (o.settleMs > 0) {
      enter('settling');
      await guard(sleep(o.settleMs));
      if (!(await guard(caughtUp(o.settleMs * (SETTLE_BOUND - 1)))) && !abort.signal.aborted)
        o.onNote?.(
          `the simulator was still behind after settling ${(SETTLE_BOUND * o.settleMs) / 1000} s (event-loop delay ` +
            `p99 ${stats.recentLoopDelay()} ms); measuring anyway`,
        );
    }

    enter(o.scenario);
    for (const p of pools) p.measure();
    const windowStart = Date.now();
    const ackedAtStart = stats.totals().acked;
    const skippedAtStart = stats.totals().skipped;
    const outcome: ScenarioOutcome = await guard(scenario.run(ctx));
    for (const p of pools) p.cutoff();
    const windowEnd = Date.now();
    const ackedAtEnd = stats.totals().acked;
    const skippedInWindow = stats.totals().skipped - skippedAtStart;

    // Drain: wait until every sample made in the run has been acknowledged (fresh reports from every pool).
    enter('draining');
    const drainUntil = Date.now() + o.drainMs;
    while (Date.now() < drainUntil && !(stats.reportedSince(windowEnd + 100) && stats.totals().pending === 0))
      await new Promise((r) => setTimeout(r, 200));

    enter('stopping');
    const finals: PoolFinal[] = await guard(Promise.all(pools.map((p) => p.stop())));
    const devices: DeviceFinal[] = finals.flatMap((f) => f.devices);
    const t = stats.totals();

    // What the server stored, read through its operator API.
    enter('verifying');
    const verifyStart = Date.now();
    const counted = await server.stored(devices, startedAt, outcome.phases ?? []);
    const exposureStored = await server.exposureStored(ids, startedAt);
    o.onNote?.(
      `read what the server stored through ${o.serverApi} in ${((Date.now() - verifyStart) / 1000).toFixed(1)} s`,
    );
    const sent = devices.reduce((n, d) => n + d.cutoff, 0);
    const windowSeconds = (windowEnd - windowStart) / 1000;
    const lost = Math.max(0, sent - counted.stored);
    const invariants: Invariant[] = [
      {
        name: 'all-connected',
        ok: stats.peakConnected >= o.devices,
        detail: `${stats.peakConnected} of ${o.devices} devices connected at the same time at the peak`,
      },
      {
        name: 'no-loss',
        ok: lost === 0,
        detail:
          lost === 0
            ? `all ${sent} samples stored`
            : `${lost} of ${sent} samples not stored after a ${o.drainMs / 1000} s drain`,
      },
      ...outcome.invariants,
      ...(update ? [imagesInvariant(devices)] : []),
    ];
    const phases = outcome.phases?.length
      ? Object.fromEntries(
          outcome.phases.map((p) => [
            p.name,
            {
              latencyMs: latency(counted.phases.get(p.name)!.summary()),
              ackLatencyMs: latency(stats.phaseLatency(p.name) ?? { count: 0, p50: 0, p99: 0, max: 0 }),
            },
          ]),
        )
      : undefined;
    const serverRss = o.serverRss?.();
    return checkResult({
      schema: RESULT_SCHEMA_ID,
      scenario: o.scenario,
      server: o.server,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date().toISOString(),
      workers: o.workers,
      devices: o.devices,
      telemetryIntervalSeconds: scenario.throughput ? 0 : o.telemetryIntervalSeconds,
      durationSeconds: Math.round(windowSeconds * 10) / 10,
      connected: stats.peakConnected,
      connectSeconds,
      connectRate: { mean: connectSeconds ? Math.round(o.devices / connectSeconds) : 0, peak: stats.peakConnectRate },
      messagesSent: sent,
      messagesStored: counted.stored,
      lost,
      duplicates: t.resent,
      messagesPerSecond: windowSeconds > 0 ? Math.round((ackedAtEnd - ackedAtStart) / windowSeconds) : 0,
      latencyMs: latency(counted.latency.summary()),
      ackLatencyMs: latency(stats.measured()),
      simulatorLoopDelayMs: stats.loopDelay(),
      samplesSkipped: { run: t.skipped, window: skippedInWindow },
      errors: t.errors,
      disconnects: t.disconnects,
      exposureReports: { sent: t.exposureSent, stored: exposureStored },
      commandAcks: t.commandAcks,
      memory: {
        simulatorRssBytes: t.rssBytes,
        perDeviceBytes: Math.round(t.deviceRssBytes / Math.max(1, t.created)),
        ...(serverRss ? { serverRssBytes: serverRss } : {}),
      },
      ...outcome.fields,
      ...(phases ? { phases } : {}),
      invariants,
      ok: invariants.every((i) => i.ok),
    });
  }

  const done = run()
    .catch((err: unknown) => {
      for (const p of pools) p.kill();
      throw err;
    })
    .finally(() => {
      clearInterval(ticker);
      closeView();
      rollout?.close();
      if (update) rmSync(update.workDir, { recursive: true, force: true });
    });
  done.catch(() => {});

  return {
    done,
    options: o,
    async close() {
      abort.abort();
      return done.catch(() => undefined);
    },
  };
}
