// What the page says when a view cannot be shown: not allowed for the role (403), not found (404), or another
// error with the API's problem detail. main[data-ready] becomes "error".
import { ApiError } from '../api.js';
import { h, replace } from '../h.js';

export function showProblem(main: HTMLElement, err: unknown): void {
  let title = 'Something went wrong';
  let detail = err instanceof Error ? err.message : String(err);
  if (err instanceof ApiError) {
    if (err.status === 403) {
      title = 'Not allowed';
      detail = 'This is not allowed for your role.';
    } else if (err.status === 404) {
      title = 'Not found';
      detail = err.detail || err.title || 'There is nothing here.';
    } else {
      title = err.title || title;
      detail = err.detail || err.message;
    }
  } else {
    // A bug or a network failure, not an answer of the API: worth the console.
    console.error(err);
  }
  replace(
    main,
    h(
      'section',
      { class: 'problem', role: 'alert' },
      h('h1', { tabindex: '-1' }, title),
      h('p', null, detail),
      h('p', null, h('a', { href: '#/' }, 'Back to the overview')),
    ),
  );
  main.removeAttribute('aria-busy');
  main.dataset.ready = 'error';
}
