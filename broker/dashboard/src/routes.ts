// The hash routes: #/, #/devices, #/devices/ID, #/events, #/audit, #/checks/ID, with the scope each view needs.
import type { View } from './view.js';
import { auditView } from './views/audit.js';
import { checkView } from './views/check.js';
import { deviceView } from './views/device.js';
import { devicesView } from './views/devices.js';
import { eventsView } from './views/events.js';
import { overviewView } from './views/overview.js';

interface Route {
  readonly pattern: RegExp;
  readonly view: View;
  readonly scope?: string;
}

const ROUTES: readonly Route[] = [
  { pattern: /^\/$/, view: overviewView, scope: 'devices:read' },
  { pattern: /^\/devices$/, view: devicesView, scope: 'devices:read' },
  { pattern: /^\/devices\/([a-z0-9-]{3,64})$/, view: deviceView, scope: 'devices:read' },
  { pattern: /^\/events$/, view: eventsView, scope: 'events:read' },
  { pattern: /^\/audit$/, view: auditView, scope: 'audit:read' },
  // The catalogue is bundled: any role may read what a check means and how to fix it.
  { pattern: /^\/checks\/([a-z0-9.-]{1,80})$/, view: checkView },
];

export function routeOf(path: string): { view: View; scope?: string; params: string[] } | null {
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (m) return { view: r.view, ...(r.scope ? { scope: r.scope } : {}), params: m.slice(1) };
  }
  return null;
}
