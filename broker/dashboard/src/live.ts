// Live updates from GET /api/v1/stream (server-sent events). EventSource reconnects by itself; when the stream
// fails we ask /session whether the session is still alive, so an ended session shows the login view.
import { ApiError, loadSession } from './api.js';
import type { StreamEvents } from './api-types.js';
import { fail } from './failure.js';

type Listener = (data: unknown) => void;
const listeners = new Map<keyof StreamEvents, Set<Listener>>();
let source: EventSource | null = null;
let checking = false;

export function subscribe<K extends keyof StreamEvents>(type: K, fn: (data: StreamEvents[K]) => void): () => void {
  let set = listeners.get(type);
  if (!set) listeners.set(type, (set = new Set()));
  const listener = fn as Listener;
  set.add(listener);
  return () => set.delete(listener);
}

export function startLive(): void {
  if (source) return;
  source = new EventSource('/api/v1/stream');
  for (const type of ['report', 'connections', 'security'] as const) {
    source.addEventListener(type, (e) => {
      let data: unknown;
      try {
        data = JSON.parse((e as MessageEvent<string>).data);
      } catch {
        return; // Not JSON: nothing a view could use.
      }
      for (const fn of listeners.get(type) ?? []) fn(data);
    });
  }
  source.addEventListener('error', () => void checkSession());
}

export function stopLive(): void {
  source?.close();
  source = null;
}

async function checkSession(): Promise<void> {
  if (checking) return;
  checking = true;
  try {
    await loadSession();
  } catch (err) {
    // 401: the handler shows the login view (and stops the stream); a network error: EventSource retries.
    if (err instanceof ApiError && err.status === 401) fail(err);
  } finally {
    checking = false;
  }
}
