// A small element helper: h('a', { href: '#/' }, 'Home'). Attributes are set with setAttribute, so markup never
// carries inline script; `style` is refused because the CSP (style-src 'self') would drop it anyway.

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type Listener = (event: Event) => void;
export type Attrs = Record<string, string | number | boolean | null | undefined | Listener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') {
      // onclick → addEventListener('click'): an inline handler attribute would be blocked by script-src 'self'.
      if (!key.startsWith('on')) throw new Error(`h: a function for ${key}, not an on… attribute`);
      el.addEventListener(key.slice(2), value);
    } else if (key === 'style') {
      throw new Error('h: no style attribute (CSP); use a class or element.style');
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent` with `children`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Text a screen reader reads but the page does not show (the .visually-hidden class in style.css). */
export const srOnly = (text: string) => h('span', { class: 'visually-hidden' }, text);
