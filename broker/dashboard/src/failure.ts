// Where an error from a click or a live update goes when no view is waiting for it: main.ts installs the handler
// (401 → the login view, anything else → a message in the page), so modules need not import the router.

let handler: (err: unknown) => void = () => {};

export function onFailure(fn: (err: unknown) => void): void {
  handler = fn;
}

export function fail(err: unknown): void {
  handler(err);
}
