// How values read on the page: times in the browser's zone (the ISO value in a tooltip and in CSV), status as
// an icon and a word, grades as letters: nothing is told by colour alone.
import type { Device } from './api-types.js';
import { h } from './h.js';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const numberFmt = new Intl.NumberFormat();

export const num = (n: number | null | undefined) => (n === null || n === undefined ? '—' : numberFmt.format(n));

export function time(iso: string | null | undefined, style: 'datetime' | 'date' = 'datetime'): Node | string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return h('time', { datetime: iso, title: iso }, (style === 'date' ? dateOnly : dateTime).format(d));
}

/** "in 3 days", "5 minutes ago". */
export function relative(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((Date.parse(iso) - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const abs = Math.abs(s);
  if (abs < 60) return rtf.format(s, 'second');
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86_400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86_400), 'day');
}

export type DeviceState = 'online' | 'offline' | 'revoked';
export const deviceState = (d: Pick<Device, 'status' | 'online'>): DeviceState =>
  d.status === 'revoked' ? 'revoked' : d.online ? 'online' : 'offline';

const STATE_ICON: Record<DeviceState, string> = { online: '●', offline: '○', revoked: '⊘' };
const STATE_TEXT: Record<DeviceState, string> = { online: 'Online', offline: 'Offline', revoked: 'Revoked' };

export const stateText = (s: DeviceState) => STATE_TEXT[s];

export function stateBadge(s: DeviceState): HTMLElement {
  return h(
    'span',
    { class: `state state-${s}` },
    h('span', { 'aria-hidden': 'true' }, STATE_ICON[s]),
    ` ${STATE_TEXT[s]}`,
  );
}

export function gradeBadge(grade: string): HTMLElement {
  const known = /^[ABCDF]$/.test(grade) ? grade : 'unknown';
  return h('span', { class: `grade grade-${known}`, title: `Grade ${grade}` }, grade);
}

const SEVERITY_ICON: Record<string, string> = { critical: '‼', high: '!', medium: '▲', low: '▽', info: 'ℹ' };

export function severityBadge(severity: string): HTMLElement {
  const cls = SEVERITY_ICON[severity] ? severity : 'unknown';
  return h(
    'span',
    { class: `severity severity-${cls}` },
    h('span', { 'aria-hidden': 'true' }, SEVERITY_ICON[severity] ?? '?'),
    ` ${severity}`,
  );
}

export const plural = (n: number, one: string, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;
