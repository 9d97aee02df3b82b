// The dashboard's files (built by scripts/build.mjs into dist/dashboard/), served at / on the HTTPS port with a
// Content-Security-Policy of their own: scripts, styles and connections from this origin only, nothing inline,
// no frames, no plugins. The three files are read once and kept in memory; nothing else is served from the
// folder, so no path a client sends ever reaches the file system.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** URL path → file and type. */
export const DASHBOARD_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/**
 * Where the built files are: beside the bundle (dist/fleet.js → dist/dashboard/), or, when the server runs from
 * its sources (tests, tsx), in the checkout's dist/dashboard/.
 */
export function dashboardDir(): string | undefined {
  const candidates = [new URL('./dashboard/', import.meta.url), new URL('../../../dist/dashboard/', import.meta.url)];
  for (const url of candidates) {
    const dir = fileURLToPath(url);
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return undefined;
}

export type DashboardAssets = ReturnType<typeof loadDashboardAssets>;

/** The files, or undefined when the dashboard was not built (the routes then answer 503 and say how to build). */
export function loadDashboardAssets(dir = dashboardDir()) {
  if (!dir) return undefined;
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const [path, { file, type }] of Object.entries(DASHBOARD_FILES)) {
    files.set(path, { body: readFileSync(`${dir}${file}`), type });
  }
  return { get: (path: string) => files.get(path) };
}
