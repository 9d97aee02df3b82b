// Where an error from a click or a live update goes when no view is waiting for it: main.ts installs the handler
// (401 → the login view, anything else → a message in the page), so modules need not import the router.
import { ApiError } from './api.js';

let handler: (err: unknown) => void = () => {};

export function onFailure(fn: (err: unknown) => void): void {
  handler = fn;
}

export function fail(err: unknown): void {
  handler(err);
}

/**
 * For a refresh in the background (a live update): an ended session still shows the login view, but a passing
 * network or server error keeps the page as it is rather than replace it with an error message.
 */
export function failQuietly(err: unknown): void {
  if (err instanceof ApiError && err.status === 401) handler(err);
}
