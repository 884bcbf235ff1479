// users.js - the users (admins: every detail; department managers: logins
// and names, to add members) with, for admins, a form to create one; then
// the caller's API tokens: list, revoke, create (admins may look at
// anyone's with the "Tokens of" filter, kept in the hash as ?tokens=LOGIN).
//
// A new token's secret is shown once, in #new-token, and is kept nowhere
// else: not in storage, not in the console, not in a toast.

import { get, post, del } from '../api.js';
import { session } from '../session.js';
import {
  h, fill, timeEl, toast, errorText, confirmDialog, field, select, pageHeader, table, badge,
  showFormError, clearFormError,
} from '../ui.js';

export async function render(ctx) {
  const usersBox = h('div', { class: 'users-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const tokensBox = h('section', { 'aria-labelledby': 'tokens-title' });
  // Users who manage nothing come here for their API tokens alone.
  const title = session.isManagerSomewhere() ? 'Users' : 'API tokens';
  ctx.main.append(pageHeader(title), usersBox, tokensBox);

  let users = [];
  if (session.isManagerSomewhere()) {
    // Only admins and managers may list users (others would get a 403).
    const reloadUsers = async () => {
      try {
        users = (await get('/users')).items;
      } catch (e) {
        fill(usersBox, h('p', { class: 'error', role: 'alert' }, errorText(e)));
        return;
      }
      if (!ctx.stale()) drawUsers(usersBox, users, reloadUsers);
    };
    await reloadUsers();
  } else {
    fill(usersBox, h('p', { class: 'muted' },
      'Only administrators and department managers see the list of users.'));
  }
  if (ctx.stale()) return;
  tokensSection(ctx, tokensBox, users);
}

// --- users ---

function drawUsers(box, users, reload) {
  const admin = session.me.is_admin;
  // Managers get id, login and display name only: show just those.
  const cols = [
    { title: 'Login', cell: (u) => h('strong', {}, u.login) },
    { title: 'Display name', cell: (u) => u.display_name || h('span', { class: 'muted' }, '—') },
  ];
  if (admin) {
    cols.push(
      { title: 'Administrator', cell: (u) => (u.is_admin ? h('span', { class: 'badge st-running' }, 'admin') : h('span', { class: 'muted' }, 'no')) },
      { title: 'State', cell: (u) => (u.disabled ? badge('dead', 'disabled') : badge('alive', 'enabled')) },
      { title: 'Sign-in', cell: (u) => (u.has_password ? 'password' : h('span', { title: 'No password: only API tokens work' }, 'token only')) },
      { title: 'Departments', cell: (u) => userDepartments(u) },
      { title: 'Created', cell: (u) => timeEl(u.created_at) },
    );
  }
  fill(box,
    admin ? newUserForm(reload) : null,
    h('section', { 'aria-labelledby': 'users-title' },
      h('h2', { id: 'users-title' }, 'All users', h('span', { class: 'muted' }, ' (' + users.length + ')')),
      admin ? null : h('p', { class: 'muted' }, 'As a department manager you see logins and names, to add members on the ',
        h('a', { href: '#/departments' }, 'Departments'), ' page.'),
      table(cols, users, 'No users.')));
}

function userDepartments(u) {
  if (!u.departments || !u.departments.length) return h('span', { class: 'muted' }, u.is_admin ? 'all (admin)' : 'none');
  return h('ul', { class: 'plain' }, u.departments.map((d) => h('li', {}, d.name + ': ', h('span', { class: 'muted' }, d.role))));
}

function newUserForm(reload) {
  const login = h('input', { name: 'login', required: true, maxlength: 63, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'none' });
  const name = h('input', { name: 'display_name', autocomplete: 'off' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'new-password', minlength: 8 });
  const isAdmin = h('input', { type: 'checkbox', name: 'is_admin', id: 'new-user-admin' });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create user');
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-user-title', novalidate: true },
    h('h2', { id: 'new-user-title', class: 'form-title' }, 'New user'),
    h('div', { class: 'form-grid' },
      field('Login', login, 'Letters, digits and . _ @ - ; at most 63.'),
      field('Display name', name),
      field('Password', password, 'At least 8 characters; leave empty for a token-only account.')),
    h('div', { class: 'field check' }, isAdmin, h('label', { for: isAdmin.id }, 'Administrator')),
    err,
    h('div', { class: 'actions' }, create));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormError(err, [login, password]);
    if (!login.value.trim()) return showFormError(err, login, 'Enter a login.');
    if (password.value && password.value.length < 8) {
      return showFormError(err, password, 'The password needs at least 8 characters (or leave it empty for a token-only account).');
    }
    const body = { login: login.value.trim(), display_name: name.value, is_admin: isAdmin.checked };
    if (password.value) body.password = password.value;
    create.disabled = true;
    try {
      const u = await post('/users', body);
      form.reset();
      toast('User ' + u.login + ' created' + (u.has_password ? '' : ' (token only)') + '. Add them to a department on the Departments page.', 'ok');
      await reload();
    } catch (e2) {
      const at = e2.field === 'password' ? password : (e2.field === 'login' || e2.status === 409 ? login : null);
      showFormError(err, at, errorText(e2));
    } finally {
      create.disabled = false;
    }
  });
  return form;
}

// --- API tokens ---

// Token states → badge colours.
const STATE_CLASS = { active: 'alive', revoked: 'dead', expired: 'stopped', 'user disabled': 'paused' };

function tokensSection(ctx, box, users) {
  const admin = session.me.is_admin;
  const me = session.me.login;
  let owner = (admin && ctx.query.get('tokens')) || me;

  const listBox = h('div', { class: 'tokens-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const secretBox = h('div', {});
  let filter = null;
  if (admin) {
    const logins = users.map((u) => u.login);
    if (!logins.includes(owner)) logins.push(owner);
    filter = select({ name: 'tokens-of' }, logins.map((l) => [l, l === me ? l + ' (you)' : l]), owner);
    filter.addEventListener('change', () => {
      owner = filter.value;
      // Keep the choice linkable without re-rendering the page (and the shown secret).
      history.replaceState(null, '', owner === me ? '#/users' : '#/users?tokens=' + encodeURIComponent(owner));
      reload();
    });
  }

  async function reload() {
    let items;
    try {
      items = (await get('/tokens', owner === me ? {} : { user: owner })).items;
    } catch (e) {
      fill(listBox, h('p', { class: 'error', role: 'alert' }, errorText(e)));
      return;
    }
    if (ctx.stale()) return;
    fill(listBox, tokenTable(items, owner !== me, reload));
  }

  fill(box,
    h('h2', { id: 'tokens-title' }, 'API tokens'),
    h('p', { class: 'muted' }, 'A token acts with exactly its owner\'s rights: send it as ',
      h('code', {}, 'Authorization: Bearer <token>'), '.'),
    filter ? h('div', { class: 'toolbar' }, field('Tokens of', filter)) : null,
    listBox,
    newTokenForm(secretBox, async () => {
      // The new token is the caller's: show the caller's list.
      if (filter && owner !== me) {
        owner = me;
        filter.value = me;
        history.replaceState(null, '', '#/users');
      }
      await reload();
    }),
    secretBox);
  reload();
}

function tokenTable(items, showOwner, reload) {
  const cols = [
    { title: 'Name', cell: (t) => t.name || h('span', { class: 'muted' }, '(no name)') },
    showOwner ? { title: 'Owner', cell: (t) => t.login } : null,
    { title: 'Prefix', cell: (t) => h('code', {}, t.token_prefix + '…') },
    { title: 'State', cell: (t) => badge(STATE_CLASS[t.state] || 'none', t.state || (t.revoked_at ? 'revoked' : 'active')) },
    { title: 'Created', cell: (t) => timeEl(t.created_at) },
    { title: 'Expires', cell: (t) => (t.expires_at ? timeEl(t.expires_at) : h('span', { class: 'muted' }, 'never')) },
    { title: 'Revoked', cell: (t) => (t.revoked_at ? timeEl(t.revoked_at) : h('span', { class: 'muted' }, '—')) },
    { title: 'Last used', cell: (t) => (t.last_used_at ? timeEl(t.last_used_at) : h('span', { class: 'muted' }, 'never')) },
    { title: 'Actions', cell: (t) => (t.revoked_at ? null : revokeButton(t, reload)) },
  ].filter(Boolean);
  return table(cols, items, showOwner ? 'This user has no API tokens.' : 'You have no API tokens yet.');
}

function revokeButton(t, reload) {
  const b = h('button', { type: 'button', title: 'Revoke the token ' + (t.name || t.token_prefix) }, 'Revoke');
  b.addEventListener('click', async () => {
    const ok = await confirmDialog('Revoke the token "' + (t.name || t.token_prefix) + '" of ' + t.login +
      '? Programs using it will be refused from now on.', 'Revoke');
    if (!ok) return;
    b.disabled = true;
    try {
      await del('/tokens/' + t.id);
      toast('Token ' + (t.name || t.token_prefix) + ' revoked.', 'ok');
      await reload();
    } catch (e) {
      toast(errorText(e), 'error');
      if (b.isConnected) b.disabled = false;
    }
  });
  return b;
}

const MAX_DAYS = 3650; // the API allows at most ten years

function newTokenForm(secretBox, created) {
  const name = h('input', { name: 'token-name', autocomplete: 'off', maxlength: 200 });
  const days = h('input', { name: 'expires-days', type: 'number', min: 1, max: MAX_DAYS, step: 1, inputmode: 'numeric' });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create token');
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-token-title', novalidate: true },
    h('h3', { id: 'new-token-title', class: 'form-title' }, 'New token for you'),
    h('div', { class: 'form-grid' },
      field('Token name', name, 'What it is for, e.g. "backup script".'),
      field('Expires in (days)', days, 'Empty: never expires. At most ' + MAX_DAYS + '.')),
    err,
    h('div', { class: 'actions' }, create));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFormError(err, [name, days]);
    const body = { name: name.value.trim() };
    if (days.value.trim() !== '') {
      const n = Number(days.value);
      if (!Number.isInteger(n) || n < 1 || n > MAX_DAYS) {
        return showFormError(err, days, 'Expires in: a whole number of days from 1 to ' + MAX_DAYS + ', or empty for never.');
      }
      body.expires_in_s = n * 86400;
    }
    create.disabled = true;
    try {
      const t = await post('/tokens', body);
      form.reset();
      showSecret(secretBox, t);
      toast('Token ' + (t.name || t.token_prefix) + ' created.', 'ok');
      await created();
    } catch (e2) {
      showFormError(err, e2.field === 'expires_in_s' ? days : (e2.field === 'name' ? name : null), errorText(e2));
    } finally {
      create.disabled = false;
    }
  });
  return form;
}

// The secret, once: in #new-token with a Copy button; "Done" forgets it.
function showSecret(box, t) {
  const secret = h('code', { id: 'new-token', class: 'secret' }, t.token);
  const copy = h('button', { type: 'button' }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(t.token);
      toast('Token copied to the clipboard.', 'ok');
    } catch (e) {
      // No clipboard access (permissions, insecure origin): select it for Ctrl+C.
      const r = document.createRange();
      r.selectNodeContents(secret);
      const s = window.getSelection();
      s.removeAllRanges();
      s.addRange(r);
      toast('Select-and-copy: the token is selected, press Ctrl+C.', 'ok');
    }
  });
  const done = h('button', { type: 'button' }, 'Done');
  done.addEventListener('click', () => fill(box));
  fill(box, h('div', { class: 'card new-token', role: 'region', 'aria-label': 'New token' },
    h('p', {}, h('strong', {}, 'Your new token "' + (t.name || t.token_prefix) + '"'), ' — copy it now. It will not be shown again.'),
    h('div', { class: 'secret-row' }, secret, copy, done)));
  secret.scrollIntoView({ block: 'nearest' });
}

