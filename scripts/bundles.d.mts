// Types of scripts/bundles.mjs for the TypeScript that imports it (bench/lib/unprotected-build.ts).
export interface BundleEntry {
  readonly entry: string;
  readonly format: 'esm' | 'cjs';
  /** A worker thread, started from the file beside the bundle that starts it. */
  readonly thread?: boolean;
}
export const root: string;
export const entries: Readonly<Record<string, BundleEntry>>;
export function bundle(name: string, entry: BundleEntry, out: string): Promise<void>;
/** Writes the fleet dashboard to outDir (relative to root, or absolute): index.html, app.js and app.css. */
export function bundleDashboard(outDir: string): Promise<void>;
