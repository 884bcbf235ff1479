// app.js - the pages' frame: sign-in state, navigation and the router.
//
// One HTML page; the part after '#' names the page (#/jobs/12), so the
// server serves static files only.  Each page is a module in pages/ with
//   export async function render(ctx)
// where ctx = {main, params, query, navigate(hash), every(ms, fn),
// onLeave(fn)}; timers made with every() stop when the user leaves.

import { api, get, setCsrfToken, setSignedOutHandler, ApiError } from './api.js';
import { session } from './session.js';
import { h, fill, showError, toast, errorText } from './ui.js';

const routes = [
  [/^\/?$/, 'dashboard'],
  [/^\/login$/, 'login'],
  [/^\/jobs$/, 'jobs'],
  [/^\/jobs\/new$/, 'job_edit'],
  [/^\/jobs\/(\d+)$/, 'job_detail'],
  [/^\/jobs\/(\d+)\/edit$/, 'job_edit'],
  [/^\/jobs\/(\d+)\/workflow$/, 'workflow'],
  [/^\/executions$/, 'executions'],
  [/^\/executions\/(\d+)$/, 'execution_detail'],
  [/^\/instances$/, 'instances'],
  [/^\/departments$/, 'departments'],
  [/^\/users$/, 'users'],
  [/^\/audit$/, 'audit'],
  [/^\/alerts$/, 'alerts'],
];

const NAV = [
  ['#/', 'Dashboard'],
  ['#/jobs', 'Jobs'],
  ['#/executions', 'Executions'],
  ['#/alerts', 'Alerts'],
  ['#/instances', 'Instances'],
  ['#/departments', 'Departments'],
  // Everyone has API tokens (on the users page); only managers see users.
  ['#/users', () => (session.isManagerSomewhere() ? 'Users' : 'API tokens')],
  ['#/audit', 'Audit log'],
];

let leaving = []; // clean-ups of the page on screen
let renderSeq = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const qi = raw.indexOf('?');
  return {
    path: qi < 0 ? raw : raw.slice(0, qi),
    query: new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1)),
  };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function drawNav(current) {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  // Signed out there is nothing to navigate to: no menu button either.
  document.getElementById('menu-toggle').hidden = !session.me;
  if (!session.me) {
    fill(nav);
    fill(who);
    return;
  }
  fill(nav, h('ul', {}, NAV.map(([href, text]) => {
    const here = href === '#/' ? current === '/' : current.startsWith(href.slice(1));
    return h('li', {}, h('a', { href, 'aria-current': here ? 'page' : null },
      typeof text === 'function' ? text() : text));
  })));
  const logout = h('button', { type: 'button', class: 'link' }, 'Sign out');
  logout.addEventListener('click', async () => {
    try { await api('POST', '/logout', {}); } catch (e) { /* signed out anyway */ }
    session.me = null;
    setCsrfToken(null);
    navigate('#/login');
  });
  fill(who, h('span', { title: session.me.is_admin ? 'administrator' : '' },
    session.me.display_name || session.me.login, session.me.is_admin ? ' (admin)' : ''), ' ', logout);
}

async function loadMe() {
  try {
    session.me = await get('/me');
    setCsrfToken(session.me.csrf_token);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    session.me = null;
  }
}

async function route() {
  const seq = ++renderSeq;
  for (const fn of leaving) {
    try { fn(); } catch (e) { /* the old page is gone anyway */ }
  }
  leaving = [];
  const main = document.getElementById('main');
  const { path, query } = parseHash();
  document.getElementById('nav').classList.remove('open');
  document.getElementById('menu-toggle').setAttribute('aria-expanded', 'false');
  try {
    if (session.me === null && path !== '/login') await loadMe();
  } catch (e) {
    showError(main, e);
    return;
  }
  if (seq !== renderSeq) return;
  if (!session.me && path !== '/login') {
    sessionStorage.setItem('tablecron.after_login', location.hash || '#/');
    location.replace('#/login');
    return;
  }
  drawNav(path);
  let name = null, params = [];
  for (const [re, page] of routes) {
    const m = path.match(re);
    if (m) { name = page; params = m.slice(1); break; }
  }
  if (!name) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, 'No page here. ', h('a', { href: '#/' }, 'Go to the dashboard.')));
    return;
  }
  const ctx = {
    main, params, query, navigate,
    onLeave: (fn) => leaving.push(fn),
    every: (ms, fn) => {
      const t = setInterval(() => { if (!document.hidden) fn(); }, ms);
      leaving.push(() => clearInterval(t));
    },
    stale: () => seq !== renderSeq, // the user has moved on
    afterLogin: () => {
      const back = sessionStorage.getItem('tablecron.after_login') || '#/';
      sessionStorage.removeItem('tablecron.after_login');
      navigate(back === '#/login' ? '#/' : back);
    },
  };
  fill(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    const mod = await import('./pages/' + name + '.js');
    if (seq !== renderSeq) return;
    main.replaceChildren();
    await mod.render(ctx);
  } catch (e) {
    if (seq === renderSeq) showError(main, e);
  }
}

setSignedOutHandler(() => {
  if (session.me) toast('Your session has ended; please sign in again.', 'error');
  session.me = null;
  setCsrfToken(null);
  if (parseHash().path !== '/login') {
    sessionStorage.setItem('tablecron.after_login', location.hash || '#/');
    navigate('#/login');
  }
});

// Exported for the login page.
export function signedIn(me) {
  session.me = me;
  setCsrfToken(me.csrf_token);
}

document.getElementById('menu-toggle').addEventListener('click', (e) => {
  const nav = document.getElementById('nav');
  const open = nav.classList.toggle('open');
  e.currentTarget.setAttribute('aria-expanded', String(open));
});
window.addEventListener('hashchange', route);
window.addEventListener('unhandledrejection', (e) => toast(errorText(e.reason), 'error'));
route();
