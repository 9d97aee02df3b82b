// What the parts of the local administration (local-*.ts) know about the caller of one request or command.
import { UsageError } from '../../../shared/src/index.js';
import type { DeviceSummary } from '../db/registry.js';

export interface CallerContext {
  /** As the security event log names them: `operator:alice`, `cli:root@host`. */
  readonly actor: string;
  /** The devices the caller may see and touch; null: all. */
  readonly devices: readonly string[] | null;
  /** The operator acting through the API (their key must sign their commands); undefined on the server host. */
  readonly operatorId: number | undefined;
  readonly visible: (deviceId: string) => boolean;
  /** The device when it is registered and visible to the caller; FLEET_DEVICE_UNKNOWN otherwise. */
  readonly device: (deviceId: string) => Promise<DeviceSummary>;
}

/** `limit` within 1 … max, `fallback` when absent. */
export const clampLimit = (limit: number | undefined, fallback: number, max: number) =>
  Math.min(Math.max(1, Math.floor(limit ?? fallback)), max);

/** A time given as ISO 8601; a usage error naming `what` otherwise. */
/**
 * A page cursor these lists give (a row number) as a number, or undefined for the first page; anything else is a
 * usage error, on every list alike.
 */
export function cursorOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,15}$/.test(text)) throw new UsageError('the cursor is not one this list gave');
  return Number(text);
}

export function timeOf(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`${what} must be a time in ISO 8601 (2025-01-31T12:00:00Z), got ${text}`);
  return t;
}
