// Page parts the views share: headings, sections, figures (numbers with a test id), links to devices and checks.
import { CHECKS } from './catalogue.js';
import { type Child, h } from './h.js';

let sectionIds = 0;

/** The page heading; focusable so navigation can move focus to it. */
export const pageTitle = (text: string, ...more: Child[]) => h('h1', { tabindex: '-1' }, text, ...more);

export function section(title: string, ...children: Child[]): HTMLElement {
  const id = `section-${++sectionIds}`;
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

/**
 * A labelled number; `testid` is the stable hook tests and the bench read, so counts there are written plainly
 * (10000, not 10,000): the text is the API's number.
 */
export function figure(label: string, value: Child, testid: string, note?: Child): HTMLElement {
  return h(
    'div',
    { class: 'figure' },
    h('dt', null, label),
    h(
      'dd',
      null,
      h('span', { class: 'figure-value', 'data-testid': testid }, value),
      note ? h('small', null, note) : null,
    ),
  );
}

export const figures = (...items: HTMLElement[]) => h('dl', { class: 'figures' }, items);

export const deviceLink = (id: string) => h('a', { href: `#/devices/${encodeURIComponent(id)}` }, id);

/** A check id linked to its page (description and remediation from the bundled catalogue). */
export function checkLink(id: string): HTMLElement {
  const def = CHECKS.get(id);
  return h('a', { href: `#/checks/${encodeURIComponent(id)}` }, def ? def.title : id);
}

export const checkTitle = (id: string) => CHECKS.get(id)?.title ?? id;

export function note(text: Child, kind: 'info' | 'warn' = 'info'): HTMLElement {
  return h('p', { class: `note note-${kind}` }, text);
}
