// Messages between the simulator (coordinator) and its worker processes, over the IPC channel of fork().
import type { FirmwareVerdict } from '../firmware-gate.js';
import type { PoolFinal, PoolReport, PoolSpec } from '../device-pool.js';

export type ToWorker =
  | { readonly type: 'start'; readonly spec: PoolSpec }
  | { readonly type: 'measure' }
  | { readonly type: 'cutoff' }
  | { readonly type: 'cut'; readonly ms: number }
  | { readonly type: 'offer-firmware'; readonly req: number; readonly deviceId: string; readonly bundle: Uint8Array }
  | { readonly type: 'stop' };

export type FromWorker =
  | { readonly type: 'started' }
  | { readonly type: 'report'; readonly report: PoolReport }
  | { readonly type: 'firmware'; readonly req: number; readonly verdict: FirmwareVerdict }
  | { readonly type: 'final'; readonly final: PoolFinal }
  | { readonly type: 'failed'; readonly message: string };

/** The hidden subcommand of fleet-sim that runs a worker. */
export const WORKER_COMMAND = '__worker';
/** How often workers send their counters. */
export const REPORT_EVERY_MS = 1000;
