// The dashboard's entry: load the session, draw the shell (navigation by role), route the hash to a view, and
// keep the server-sent event stream open. Every error a view does not handle ends here: 401 → login, 403 → not
// allowed, anything else → a message.
import { ApiError, isAbort, loadSession, logout } from './api.js';
import type { Session } from './api-types.js';
import { fail, onFailure } from './failure.js';
import { h, replace } from './h.js';
import { startLive, stopLive, subscribe } from './live.js';
import { routeOf } from './routes.js';
import type { ViewContext } from './view.js';
import { showLogin } from './views/login.js';
import { showProblem } from './views/problem.js';

const main = document.querySelector('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const who = document.getElementById('who') as HTMLElement;

let session: Session | null = null;
let current: AbortController | null = null;
let navigations = 0;

function handleError(err: unknown): void {
  if (isAbort(err)) return;
  if (err instanceof ApiError && err.status === 401) {
    session = null;
    stopLive();
    current?.abort();
    replace(nav);
    replace(who);
    showLogin(main);
    return;
  }
  showProblem(main, err);
}

onFailure(handleError);

// The skip link moves focus to the content without changing the hash, which is the router's.
document.querySelector('.skip-link')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

const NAV = [
  { href: '#/', label: 'Overview', scope: 'devices:read', testid: 'nav-overview' },
  { href: '#/devices', label: 'Devices', scope: 'devices:read', testid: 'nav-devices' },
  { href: '#/events', label: 'Security events', scope: 'events:read', testid: 'nav-events' },
  { href: '#/audit', label: 'Audit', scope: 'audit:read', testid: 'nav-audit' },
] as const;

function drawShell(s: Session): void {
  // Views a role may not use are not offered; the API refuses them anyway.
  const links = NAV.filter((l) => s.scopes.includes(l.scope));
  replace(
    nav,
    h(
      'ul',
      null,
      links.map((l) => h('li', null, h('a', { href: l.href, 'data-testid': l.testid }, l.label))),
    ),
  );
  const out = h('button', { type: 'button', 'data-testid': 'logout' }, 'Sign out');
  out.addEventListener('click', () => {
    // The stream first: the server closes it with the session, and its reconnect would only meet a 401.
    stopLive();
    logout().then(() => handleError(new ApiError(401, 'LOGGED_OUT', 'Signed out', '')), handleError);
  });
  replace(who, h('span', { class: 'operator' }, s.operator, ' ', h('span', { class: 'role' }, `(${s.role})`)), out);
}

function markCurrentLink(path: string): void {
  for (const a of nav.querySelectorAll('a')) {
    const target = a.getAttribute('href')?.slice(1) ?? '';
    const here = target === '/' ? path === '/' : path === target || path.startsWith(`${target}/`);
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function navigate(): Promise<void> {
  if (!session) return;
  const s = session;
  // Only #/… are routes; another fragment is an anchor in the page.
  if (!(location.hash.replace(/^#/, '') || '/').startsWith('/')) return;
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const n = ++navigations;
  delete main.dataset.ready;
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = hash.split('?', 2);
  markCurrentLink(path);
  const route = routeOf(path);
  const cleanups: (() => void)[] = [];
  controller.signal.addEventListener('abort', () => {
    for (const fn of cleanups.splice(0)) fn();
  });
  main.setAttribute('aria-busy', 'true');
  if (!route) {
    showProblem(main, new ApiError(404, 'NOT_FOUND', 'No such page', `Nothing is at #${path}.`));
    return;
  }
  if (route.scope && !s.scopes.includes(route.scope)) {
    showProblem(main, new ApiError(403, 'FORBIDDEN', 'Not allowed', ''));
    return;
  }
  const ctx: ViewContext = {
    main,
    signal: controller.signal,
    session: s,
    params: route.params,
    query: new URLSearchParams(search),
    can: (scope) => s.scopes.includes(scope),
    ready(name) {
      // After the next frame: uPlot draws its canvases on a microtask, the browser paints after that.
      requestAnimationFrame(() => {
        if (controller.signal.aborted) return;
        main.removeAttribute('aria-busy');
        main.dataset.ready = name;
      });
    },
    onLive(type, fn) {
      cleanups.push(subscribe(type, fn));
    },
    onCleanup(fn) {
      cleanups.push(fn);
    },
  };
  try {
    await route.view(ctx);
    // Focus moves to the new page's heading, as a page load would, except on the first page.
    if (n > 1 && !controller.signal.aborted) main.querySelector<HTMLElement>('h1')?.focus();
  } catch (err) {
    if (!controller.signal.aborted) handleError(err);
  }
}

/** When the session's time is up, ask the server (it may have been extended) and show login if it has ended. */
function watchExpiry(s: Session): void {
  const ms = Math.min(Date.parse(s.expiresAt) - Date.now() + 1000, 2 ** 31 - 1);
  setTimeout(
    () => {
      if (session !== s) return;
      loadSession().then((fresh) => {
        session = fresh;
        watchExpiry(fresh);
      }, handleError);
    },
    Math.max(ms, 1000),
  );
}

async function boot(): Promise<void> {
  try {
    session = await loadSession();
  } catch (err) {
    handleError(err);
    return;
  }
  drawShell(session);
  startLive();
  watchExpiry(session);
  window.addEventListener('hashchange', () => void navigate());
  // Chart colours come from CSS variables read when a chart is drawn: redraw on a colour scheme change.
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => void navigate());
  await navigate();
}

boot().catch(fail);
