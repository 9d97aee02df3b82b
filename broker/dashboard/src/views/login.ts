// The login view: there is no password form. A session starts only from a one-time link the server makes
// (`fleet dashboard link`), which sets the cookie and redirects to /.
import { h, replace } from '../h.js';

export function showLogin(main: HTMLElement): void {
  delete main.dataset.ready;
  replace(
    main,
    h(
      'section',
      { class: 'login' },
      h('h1', { tabindex: '-1' }, 'Sign in'),
      h('p', null, 'Your session has ended or this browser has none. Ask for a one-time link:'),
      h('pre', null, h('code', null, 'fleet dashboard link --operator NAME')),
      h('p', null, 'Open the link it prints in this browser; it works once and signs you in.'),
    ),
  );
  main.removeAttribute('aria-busy');
  main.dataset.ready = 'login';
}
