// What a view gets from the router: where to draw, when to stop (navigation aborts the signal and runs the
// cleanups), the session's scopes, live events for as long as it is shown, and ready() for tests and the bench.
import type { Session, StreamEvents } from './api-types.js';

export interface ViewContext {
  readonly main: HTMLElement;
  readonly signal: AbortSignal;
  readonly session: Session;
  /** The route's captures (a device id, a check id). */
  readonly params: readonly string[];
  /** The hash's query: #/events?deviceId=x. */
  readonly query: URLSearchParams;
  can(scope: string): boolean;
  /** Everything is fetched and drawn: main[data-ready] = name once the browser has painted. */
  ready(name: string): void;
  onLive<K extends keyof StreamEvents>(type: K, fn: (data: StreamEvents[K]) => void): void;
  onCleanup(fn: () => void): void;
}

export type View = (ctx: ViewContext) => Promise<void>;

/** Calls `fn` once `ms` after the last of a burst of calls (live updates come in bursts). */
export function debounce(ctx: ViewContext, ms: number, fn: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  ctx.onCleanup(() => clearTimeout(timer));
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}
