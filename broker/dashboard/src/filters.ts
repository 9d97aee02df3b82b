// Filter forms for the paged logs: labelled fields, Apply and Clear buttons, and the values kept in the hash's
// query (history.replaceState, so no navigation) to make a filtered view a link that can be shared.
import { h } from './h.js';

export interface Field {
  readonly name: string;
  readonly label: string;
  readonly control: HTMLInputElement | HTMLSelectElement;
}

export function textField(name: string, label: string, value: string, attrs: Record<string, string> = {}): Field {
  return { name, label, control: h('input', { id: `filter-${name}`, name, type: 'text', value, ...attrs }) };
}

export function filterForm(
  title: string,
  route: string,
  fields: readonly Field[],
  apply: (values: Record<string, string>) => void,
): HTMLFormElement {
  const values = () => Object.fromEntries(fields.map((f) => [f.name, f.control.value.trim()]));
  const form = h(
    'form',
    { class: 'filters', 'aria-label': title },
    fields.map((f) => h('div', { class: 'field' }, h('label', { for: f.control.id }, f.label), f.control)),
    h(
      'div',
      { class: 'field buttons' },
      h('button', { type: 'submit' }, 'Apply'),
      h('button', { type: 'reset' }, 'Clear'),
    ),
  );
  const run = () => {
    const v = values();
    const q = new URLSearchParams(Object.entries(v).filter(([, x]) => x !== '')).toString();
    history.replaceState(null, '', `#${route}${q ? `?${q}` : ''}`);
    apply(v);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (form.reportValidity()) run();
  });
  // After the reset has cleared the fields (it runs after this event).
  form.addEventListener('reset', () => setTimeout(run, 0));
  return form;
}
