// The update client: takes offers from `fleet/v1/{id}/update`, walks one update through the transition table
// (machine.ts), persisting the record before each state's side effects, and reports every state change on
// `update/status` through the outbox. A restart resumes the update where it stood, or abandons it after too many
// starts (a crash loop). docs/agent-config.md (Firmware updates) describes it.
import { randomUUID } from 'node:crypto';
import { rmSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeUpdateOffer,
  EdgewardError,
  encode,
  type Logger,
  type UpdateOffer,
  type UpdateOutcome,
  type UpdateState,
  type UpdateStatus,
} from '../../../shared/src/index.js';
import {
  parseTrustDocument,
  resolveTrustChain,
  updateTrust,
  verifyBundle,
  type Manifest,
  type TrustState,
} from '../../../firmware-tools/src/index.js';
import type { TlsCredentials } from '../mqtt/connection.js';
import type { DownloadFn } from './download.js';
import type { ImageMeta, Installer } from './installer.js';
import { createChunkFeed, type ChunkFeed } from './chunk-feed.js';
import { next, type UpdateEvent } from './machine.js';
import { UPDATE_RECORD_VERSION, type UpdateRecord, type UpdateStore } from './store.js';

export interface UpdateClientOptions {
  readonly store: UpdateStore;
  readonly installer: Installer;
  readonly download: DownloadFn;
  /** The optional health hook: resolves when the new image is healthy, rejects when it is not. */
  readonly healthCheck?: () => Promise<void>;
  /**
   * The configured trust document (the device's anchor), or a function reading it when an update is verified (so a
   * damaged file refuses updates with UPDATE_TRUST instead of stopping the agent).
   */
  readonly trust: Uint8Array | (() => Uint8Array);
  readonly hardware?: string;
  readonly agentVersion: string;
  readonly tls: TlsCredentials;
  /** Folder for the downloaded bundle (bundle.part). */
  readonly workDir: string;
  readonly log: Logger;
  readonly now: () => number;
  /** Queues an encoded UpdateStatus on update/status in the outbox. */
  readonly send: (payload: Uint8Array) => void;
  /** Re-makes the MQTT connection: the in-process "reboot" of installers without their own reboot. */
  readonly restartConnection: () => Promise<void>;
  /** Told whenever the running firmware version changes (status message, runtime record). */
  readonly onFirmware: (version: string) => void;
  readonly healthDeadlineMs: number;
  /** Starts of the agent during one update before it is abandoned (default 3). */
  readonly maxStarts?: number;
  /**
   * Drill switch (EDGEWARD_UPDATE_KILL_AT): the process SIGKILLs itself right after persisting this state, or
   * with "Downloading:N" once N bytes are on disk. For crash tests and fire drills only.
   */
  readonly killAt?: string;
}

export interface UpdateClient {
  /** Resumes (or abandons) a persisted update. */
  start(): Promise<void>;
  /** An offer as received (hostile bytes). */
  handleOffer(payload: Uint8Array): void;
  /** A publish carrying `firmwareVersion` (the status message) was acknowledged by the broker. */
  confirmed(firmwareVersion: string): void;
  readonly state: UpdateState;
  /** Resolves when no update step runs. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Bytes left free on the state folder's file system after a download. */
const DISK_RESERVE = 16 * 1024 * 1024;
const CANCELLABLE: ReadonlySet<UpdateState> = new Set(['Offered', 'Downloading', 'Verifying']);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const codeOf = (err: unknown, fallback: string) =>
  err instanceof EdgewardError && /^[A-Z][A-Z0-9_]{1,63}$/.test(err.code) ? err.code : fallback;

export function createUpdateClient(o: UpdateClientOptions): UpdateClient {
  const { store, installer, log } = o;
  const part = join(o.workDir, 'bundle.part');
  let record = store.load();
  let running: Promise<void> | undefined;
  let closed = false;
  let cancelRequested = false;
  const confirmations = new Set<string>();
  let firmware = '';

  const kill = (state: string) => {
    if (o.killAt === state) process.kill(process.pid, 'SIGKILL');
  };

  const report = (r: UpdateRecord, extra: Partial<UpdateStatus> = {}) => {
    const msg: UpdateStatus = {
      v: 1,
      id: randomUUID(),
      ts: o.now(),
      rolloutId: r.rolloutId,
      releaseId: r.releaseId,
      state: r.state,
      ...(r.reasonCode ? { reasonCode: r.reasonCode } : {}),
      ...(r.reason ? { reason: r.reason.slice(0, 500) } : {}),
      ...(firmware ? { firmwareVersion: firmware } : {}),
      ...extra,
    };
    o.send(encode(msg));
  };

  const save = (r: UpdateRecord) => {
    store.save(r);
    record = r;
  };

  /** Persists the next state (before any of its side effects), then reports it. */
  const go = (event: UpdateEvent, patch: Partial<UpdateRecord> = {}) => {
    const r = record!;
    const state = next(r.state, event);
    save({ ...r, ...patch, state });
    log.info('update state', { state, event, releaseId: r.releaseId, reasonCode: patch.reasonCode ?? null });
    kill(state);
    if (state !== 'Idle') report(record!);
  };

  const fail = (err: unknown, fallback: string) => {
    const reasonCode = codeOf(err, fallback);
    const reason = (err as Error).message ?? String(err);
    log.warn('update failed', { state: record!.state, reasonCode, reason });
    // Only the health check runs after the switch; everything before it leaves the old image running.
    go(record!.state === 'HealthCheck' ? 'unhealthy' : 'failed', { reasonCode, reason });
  };

  const refreshFirmware = async () => {
    const cur = await installer.current();
    if (cur.version !== firmware) {
      firmware = cur.version;
      o.onFirmware(firmware);
    }
    return cur;
  };

  /**
   * "Reboots" into whatever the boot flag says. Without an installer reboot the agent re-makes its MQTT connection
   * (the A/B slots in the state folder, the simulator). With one, the machine is going down: nothing more runs
   * here, and HealthCheck resumes at the next start; should it never go down, the health check runs once the
   * deadline passed (and finds the old image running: rolled back).
   */
  const reboot = async (waitUntil?: number) => {
    confirmations.clear();
    if (!installer.reboot) {
      await refreshFirmware();
      await o.restartConnection();
      return;
    }
    await installer.reboot();
    while (waitUntil !== undefined && !closed && o.now() < waitUntil) await new Promise((r) => setTimeout(r, 200));
  };

  const trustFor = (r: UpdateRecord): { state: TrustState; added: Uint8Array[] } => {
    const now = o.now();
    const anchor = typeof o.trust === 'function' ? o.trust() : o.trust;
    let state = resolveTrustChain([anchor, ...store.loadTrust()], { now, allowExpired: true });
    const added: Uint8Array[] = [];
    for (const b64 of r.trust ?? []) {
      const doc = new Uint8Array(Buffer.from(b64, 'base64'));
      if (parseTrustDocument(doc).body.version <= state.version) continue;
      state = updateTrust(state, doc, { now, allowExpired: true });
      added.push(doc);
    }
    return { state, added };
  };

  /** The offered size plus a reserve must be free where the bundle is downloaded (the offer is not trusted). */
  const fitsOnDisk = (size: number) => {
    try {
      const fs = statfsSync(o.workDir);
      return size + DISK_RESERVE <= fs.bavail * fs.bsize;
    } catch {
      return true; // no statfs here: the write itself will tell
    }
  };

  const fileSize = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;

  const isTarget = (cur: { version: string; sequence: number; trial: boolean }, t: ImageMeta | undefined) =>
    !!t && cur.trial && cur.version === t.version && cur.sequence === t.sequence;

  const verifyOptions = (r: UpdateRecord, trust: TrustState) => ({
    trust,
    ...(o.hardware ? { hardware: o.hardware } : {}),
    installedSequence: r.from.sequence,
    agentVersion: o.agentVersion,
    now: o.now(),
  });
  const targetOf = (m: Manifest) => ({ slot: '', version: m.version, sequence: m.sequence, sha256: hex(m.sha256) });

  /**
   * Starts the streaming verifier on a feed of the download's bytes, writing the payload into the inactive slot:
   * `done` resolves with the verified image once the slot is closed (synced), or rejects with the verdict.
   */
  async function streamVerify(
    r: UpdateRecord,
  ): Promise<{ feed: ChunkFeed; done: Promise<NonNullable<UpdateRecord['target']>> } | undefined> {
    let trust: ReturnType<typeof trustFor>;
    try {
      trust = trustFor(r);
    } catch {
      return undefined; // Verifying reports it, from the downloaded file
    }
    const feed = createChunkFeed();
    const w = await installer.openInactive();
    const done = (async () => {
      try {
        const verified = await verifyBundle(feed.chunks, {
          ...verifyOptions(r, trust.state),
          onChunk: async (chunk) => {
            if (cancelRequested) throw new EdgewardError('UPDATE_CANCELLED', 'cancelled by the fleet');
            await w.write(chunk);
          },
        });
        await w.close();
        if (trust.added.length > 0) store.saveTrust([...store.loadTrust(), ...trust.added]);
        return targetOf(verified.manifest);
      } catch (err) {
        await w.abort().catch(() => {});
        throw err;
      }
    })();
    // Once it has its verdict the verifier reads no more: a refusal stops the download.
    done.then(
      () => feed.close(),
      (err: unknown) => feed.close(err as Error),
    );
    return { feed, done };
  }

  /** One state's work; returns after posting one event. */
  async function step(r: UpdateRecord): Promise<void> {
    switch (r.state) {
      case 'Idle':
        return;
      case 'Offered':
        if (cancelRequested) return go('cancel', { reasonCode: 'UPDATE_CANCELLED', reason: 'cancelled by the fleet' });
        if (!r.url || !/^https:\/\//.test(r.url) || !r.token || !r.size)
          return go('failed', { reasonCode: 'UPDATE_URL', reason: 'the offer has no https:// url, token or size' });
        if (!fitsOnDisk(r.size))
          return go('failed', {
            reasonCode: 'UPDATE_DOWNLOAD_SIZE',
            reason: `the bundle (${r.size} bytes) does not fit in the free space of ${o.workDir}`,
          });
        return go('download', { done: 0 });
      case 'Downloading': {
        let step10 = Math.floor((r.done * 10) / (r.size ?? 1));
        const killBytes = o.killAt?.startsWith('Downloading:') ? Number(o.killAt.slice(12)) : undefined;
        // One pass when the download starts from nothing: the bytes are verified and written to the inactive slot
        // as they arrive. After a restart mid-download the verifier's state is gone: the rest is downloaded, and
        // Verifying reads the whole file again.
        const streaming = fileSize(part) === 0 ? await streamVerify(r) : undefined;
        let fed = 0;
        try {
          await o.download({
            url: r.url!,
            // The newest token: a fresh offer of this release (after a reconnect) replaces it mid-download.
            token: () => (record?.releaseId === r.releaseId && record.token) || r.token!,
            size: r.size!,
            file: part,
            tls: o.tls,
            ...(streaming
              ? { onData: (chunk: Uint8Array) => ((fed += chunk.length), streaming.feed.push(chunk)), sync: false }
              : {}),
            onProgress(done, total) {
              if (killBytes !== undefined && done >= killBytes) process.kill(process.pid, 'SIGKILL');
              const s = Math.floor((done * 10) / total);
              if (s > step10 && done < total) {
                step10 = s;
                save({ ...record!, done }); // for `iot-agent status`; a resume goes by the bytes on disk
                report(record!, { done, total });
              }
            },
          });
          streaming?.feed.end();
        } catch (err) {
          // Either the verifier refused the bundle (a bad signature stops the download: its verdict is `err`) or
          // the download failed, and the verifier, cut short, is told to stop.
          streaming?.feed.close(err as Error);
          await streaming?.done.catch(() => undefined);
          return fail(err, 'UPDATE_DOWNLOAD');
        }
        let target: UpdateRecord['target'];
        if (streaming && fed === r.size) {
          try {
            target = await streaming.done;
          } catch (err) {
            return fail(err, 'UPDATE_INSTALL');
          }
        } else if (streaming) {
          // A download that did not hand over its bytes (an injected one): Verifying reads them from the file.
          await streaming.done.catch(() => undefined);
        }
        if (cancelRequested) return go('cancel', { reasonCode: 'UPDATE_CANCELLED', reason: 'cancelled by the fleet' });
        // With a target the slot holds the verified image, synced: Verifying has nothing left to read.
        return go('downloaded', { done: r.size!, ...(target ? { target } : {}) });
      }
      case 'Verifying': {
        if (r.target) return go('verified');
        let writer: Awaited<ReturnType<Installer['openInactive']>> | undefined;
        try {
          const trust = trustFor(r);
          writer = await installer.openInactive();
          const w = writer;
          let step10 = 0;
          const verified = await verifyBundle(part, {
            ...verifyOptions(r, trust.state),
            onChunk: async (chunk) => {
              if (cancelRequested) throw new EdgewardError('UPDATE_CANCELLED', 'cancelled by the fleet');
              await w.write(chunk);
            },
            onProgress(done, total) {
              const s = Math.floor((done * 10) / Math.max(1, total));
              if (s > step10 && done < total) {
                step10 = s;
                report(record!, { done, total });
              }
            },
          });
          await w.close();
          writer = undefined;
          if (trust.added.length > 0) store.saveTrust([...store.loadTrust(), ...trust.added]);
          return go('verified', { target: targetOf(verified.manifest) });
        } catch (err) {
          await writer?.abort().catch(() => {});
          return fail(err, 'UPDATE_INSTALL');
        }
      }
      case 'Installing':
        try {
          await installer.finish(r.target!);
        } catch (err) {
          return fail(err, 'UPDATE_INSTALL');
        }
        return go('installed');
      case 'Rebooting':
        try {
          // After a restart here the switch may already have happened: then it is not done twice.
          if (!isTarget(await installer.current(), r.target)) await installer.activate(r.target!);
        } catch (err) {
          return fail(err, 'UPDATE_INSTALL');
        }
        go('switched', { switchedAt: o.now() });
        return reboot(record!.switchedAt! + o.healthDeadlineMs);
      case 'HealthCheck':
        return healthCheck(r);
      case 'Committed':
      case 'RolledBack':
      case 'Failed':
        return finishOutcome(r);
    }
  }

  async function healthCheck(r: UpdateRecord): Promise<void> {
    const cur = await refreshFirmware();
    if (!isTarget(cur, r.target))
      return go('rollback', { reasonCode: 'UPDATE_HEALTH', reason: 'the new image is not the one running' });
    const deadline = (r.switchedAt ?? o.now()) + o.healthDeadlineMs;
    while (!confirmations.has(r.target!.version) && o.now() < deadline && !closed)
      await new Promise((res) => setTimeout(res, 50));
    if (closed) return;
    if (!confirmations.has(r.target!.version))
      return go('deadline', {
        reasonCode: 'UPDATE_HEALTH_TIMEOUT',
        reason: `no acknowledged status from ${r.target!.version} within ${o.healthDeadlineMs / 1000} s`,
      });
    if (o.healthCheck) {
      try {
        await o.healthCheck();
      } catch (err) {
        return go('unhealthy', { reasonCode: 'UPDATE_HEALTH', reason: (err as Error).message });
      }
    }
    return go('healthy');
  }

  /** The outcome's own side effects (idempotent), then its report, then Idle, then a reboot after a rollback. */
  async function finishOutcome(r: UpdateRecord): Promise<void> {
    let switchBack = false;
    try {
      if (r.state === 'Committed') await installer.commit();
      if (r.state === 'RolledBack' && (await installer.current()).trial) {
        await installer.rollback();
        switchBack = true;
      }
    } catch (err) {
      log.error('update outcome could not be applied', { state: r.state, error: err as Error });
    }
    rmSync(part, { force: true });
    if (!installer.reboot) await refreshFirmware();
    report(r);
    // The download authorisation and the offer's documents are of no further use.
    const { token: _token, url: _url, trust: _trust, ...rest } = r;
    record = rest;
    go('reported', { outcome: r.state as UpdateOutcome });
    // The report waits in the outbox (agent.db) if the reboot comes before it is sent.
    if (switchBack) await reboot();
  }

  function run(): void {
    if (running || closed) return;
    let stuck = false;
    running = (async () => {
      while (record && record.state !== 'Idle' && !closed) {
        const before = record;
        try {
          await step(record);
        } catch (err) {
          log.error('update step failed', { state: record.state, error: err as Error });
          if (record !== before) continue;
          try {
            fail(err, 'UPDATE_INSTALL');
          } catch {
            stuck = true; // an outcome whose report cannot be queued: tried again at the next start
            break;
          }
        }
      }
    })().finally(() => {
      running = undefined;
      if (record && record.state !== 'Idle' && !closed && !stuck) run();
    });
  }

  function accept(offer: UpdateOffer): void {
    cancelRequested = false;
    void (async () => {
      const from = await refreshFirmware();
      if (record && record.state !== 'Idle') return;
      save({
        v: UPDATE_RECORD_VERSION,
        state: 'Idle',
        rolloutId: offer.rolloutId,
        releaseId: offer.releaseId,
        ...(offer.version ? { version: offer.version } : {}),
        ...(offer.url ? { url: offer.url } : {}),
        ...(offer.token ? { token: offer.token } : {}),
        ...(offer.tokenExpires ? { tokenExpires: offer.tokenExpires } : {}),
        ...(offer.size ? { size: offer.size } : {}),
        ...(offer.trust ? { trust: offer.trust.map((d) => Buffer.from(d).toString('base64')) } : {}),
        done: 0,
        from: { slot: from.slot, version: from.version, sequence: from.sequence },
        boots: 0,
      });
      rmSync(part, { force: true });
      go('offer');
      run();
    })().catch((err: unknown) => log.error('update offer could not be taken', { error: err as Error }));
  }

  return {
    get state() {
      return record?.state ?? 'Idle';
    },
    async start() {
      await refreshFirmware();
      const r = record;
      if (!r || r.state === 'Idle') return;
      const outcome = r.state === 'Committed' || r.state === 'RolledBack' || r.state === 'Failed';
      if (!outcome) {
        save({ ...r, boots: r.boots + 1 });
        if (r.boots + 1 > (o.maxStarts ?? 3)) {
          const reason = `the agent started ${r.boots + 1} times during this update`;
          const switched =
            r.state === 'HealthCheck' || (r.state === 'Rebooting' && isTarget(await installer.current(), r.target));
          go(switched ? 'rollback' : 'failed', { reasonCode: 'UPDATE_LOOP', reason });
        } else {
          log.info('resuming update', { state: r.state, releaseId: r.releaseId, boots: r.boots + 1 });
          // A resumed state is reported again (its report may not have been queued before the crash).
          report(record!);
        }
      }
      run();
    },
    handleOffer(payload) {
      let offer: UpdateOffer;
      try {
        offer = decodeUpdateOffer(payload);
      } catch (err) {
        log.warn('update offer refused', { error: err as Error });
        return;
      }
      const r = record;
      const busy = r && r.state !== 'Idle';
      if (offer.action === 'cancel') {
        if (busy && r.releaseId === offer.releaseId && CANCELLABLE.has(r.state)) {
          log.info('update cancelled by the fleet', { state: r.state, releaseId: r.releaseId });
          cancelRequested = true;
        } else log.info('update cancel ignored', { state: r?.state ?? 'Idle', releaseId: offer.releaseId });
        return;
      }
      if (busy) {
        if (r.releaseId !== offer.releaseId) {
          log.info('update offer ignored: another update is in progress', { releaseId: offer.releaseId });
          return;
        }
        // The same release again (a redelivery, or a fresh token): its authorisation replaces the old one.
        save({
          ...r,
          ...(offer.url ? { url: offer.url } : {}),
          ...(offer.token ? { token: offer.token } : {}),
          ...(offer.tokenExpires ? { tokenExpires: offer.tokenExpires } : {}),
        });
        return;
      }
      if (
        r?.outcome &&
        r.releaseId === offer.releaseId &&
        (r.outcome === 'Committed' || r.rolloutId === offer.rolloutId)
      ) {
        // Already decided: the outcome is answered again (the first report may have been lost with a session).
        report({ ...r, state: r.outcome, rolloutId: offer.rolloutId });
        return;
      }
      accept(offer);
    },
    confirmed(version) {
      confirmations.add(version);
    },
    idle: async () => {
      while (running) await running;
    },
    async close() {
      closed = true;
      await running;
    },
  };
}
