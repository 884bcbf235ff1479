// departments.js - the caller's departments (admins: all of them): each one's
// description, the caller's role there, links to its jobs and executions,
// and - where the caller is manager - its members with a form to add,
// change or remove one.  Admins also get a form to create a department.
//
// The API lists members only where the caller is manager (or admin), so
// a viewer or operator sees just the department and their own role.

import { get, post, put, del } from '../api.js';
import { session } from '../session.js';
import {
  h, fill, timeEl, toast, errorText, confirmDialog, field, select, pageHeader, table, showFormError,
} from '../ui.js';

const ROLES = [['viewer', 'viewer'], ['operator', 'operator'], ['manager', 'manager']];

export async function render(ctx) {
  const list = h('div', { class: 'dept-list' }, h('p', { class: 'muted' }, 'Loading…'));
  // The list first: creating a department is the rare case.
  if (session.me.is_admin) {
    // The form sits below the list; the header button takes admins there.
    const form = newDepartmentForm(reload);
    const jump = h('button', { type: 'button' }, 'New department');
    jump.addEventListener('click', () => {
      form.scrollIntoView({ block: 'start' });
      form.querySelector('input').focus({ preventScroll: true });
    });
    ctx.main.append(pageHeader('Departments', jump), list, form);
  } else {
    ctx.main.append(pageHeader('Departments'), list);
  }

  // Logins for the member form's datalist: only admins and managers may list users.
  const logins = h('datalist', { id: 'dept-logins' });
  ctx.main.append(logins);
  if (session.isManagerSomewhere()) {
    get('/users').then((r) => {
      if (ctx.stale()) return;
      fill(logins, r.items.map((u) => h('option', { value: u.login },
        u.display_name ? u.display_name : null)));
    }).catch(() => { /* the datalist is a convenience; typing still works */ });
  }

  async function reload() {
    let data;
    try {
      data = await get('/departments');
    } catch (e) {
      fill(list, h('p', { class: 'error', role: 'alert' }, errorText(e)));
      return;
    }
    if (ctx.stale()) return;
    if (!data.items.length) {
      fill(list, h('p', { class: 'muted empty' }, 'You are not a member of any department yet.'));
      return;
    }
    fill(list, data.items.map((d) => departmentCard(d, reload)));
  }
  await reload();
}

// --- one department ---

function departmentCard(d, reload) {
  const manages = Array.isArray(d.members);
  return h('section', { class: 'card dept', 'aria-labelledby': 'dept-' + d.id },
    h('div', { class: 'dept-head' },
      h('h2', { id: 'dept-' + d.id }, d.name),
      h('span', { class: 'badge role-' + d.role, title: 'Your role in ' + d.name }, 'you: ' + d.role)),
    d.description ? h('p', {}, d.description) : h('p', { class: 'muted' }, 'No description.'),
    h('p', { class: 'dept-links' },
      h('a', { href: '#/jobs?department=' + d.id }, 'Jobs'), ' · ',
      h('a', { href: '#/executions?department=' + d.id }, 'Executions'), ' · ',
      h('a', { href: '#/audit?department=' + d.id }, 'Audit log'), ' · ',
      h('span', { class: 'muted' }, 'created ', timeEl(d.created_at))),
    manages ? membersSection(d, reload) : null);
}

function membersSection(d, reload) {
  const form = memberForm(d, reload);
  // "Since" only when the API gives it (the list may not carry it).
  const since = d.members.some((m) => m.created_at);
  const cols = [
    { title: 'Login', cell: (m) => h('strong', {}, m.login) },
    { title: 'Name', cell: (m) => m.display_name || h('span', { class: 'muted' }, '—') },
    { title: 'Role', cell: (m) => h('span', { class: 'badge role-' + m.role }, m.role) },
    since ? { title: 'Since', cell: (m) => timeEl(m.created_at) } : null,
    { title: 'Actions', cell: (m) => memberActions(d, m, form, reload) },
  ].filter(Boolean);
  return h('div', { class: 'dept-members' },
    h('h3', {}, 'Members'),
    table(cols, d.members, 'No members yet.'),
    form.el);
}

function memberActions(d, m, form, reload) {
  // Pre-fills the form below, so changing a role is one click and "Save member".
  const change = h('button', { type: 'button', title: 'Change the role of ' + m.login }, 'Change role');
  change.addEventListener('click', () => form.edit(m));
  const remove = h('button', { type: 'button', title: 'Take ' + m.login + ' out of ' + d.name }, 'Remove');
  remove.addEventListener('click', async () => {
    const self = m.login === session.me.login;
    const ok = await confirmDialog('Remove ' + m.login + ' from ' + d.name + '?' +
      (self ? ' This is you: you will lose access to it.' : ''), 'Remove');
    if (!ok) return;
    remove.disabled = true;
    try {
      await del('/departments/' + d.id + '/members/' + encodeURIComponent(m.login));
      toast(m.login + ' removed from ' + d.name + '.', 'ok');
      await afterMembershipChange(m.login);
      await reload();
    } catch (e) {
      toast(errorText(e), 'error');
      if (remove.isConnected) remove.disabled = false;
    }
  });
  return h('div', { class: 'actions' }, change, remove);
}

// The add/change form of a department: {el, edit(member)}.
function memberForm(d, reload) {
  const login = h('input', {
    name: 'login', list: 'dept-logins', autocomplete: 'off', required: true,
    spellcheck: 'false', autocapitalize: 'none',
  });
  const role = select({ name: 'role' }, ROLES, 'viewer');
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save member');
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const el = h('form', { class: 'member-form', 'aria-label': 'Add or change a member of ' + d.name, novalidate: true },
    h('div', { class: 'toolbar' },
      field('Login', login), field('Role', role), h('div', { class: 'field' }, save)),
    h('p', { class: 'hint muted' }, 'A new login becomes a member; an existing member gets the new role.'),
    err);
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    const who = login.value.trim();
    err.hidden = true;
    login.removeAttribute('aria-invalid');
    if (!who) {
      showFormError(err, login, 'Enter the login of the user.');
      return;
    }
    save.disabled = true;
    try {
      const m = await put('/departments/' + d.id + '/members/' + encodeURIComponent(who), { role: role.value });
      toast(m.login + ' is now ' + m.role + ' of ' + d.name + '.', 'ok');
      await afterMembershipChange(m.login);
      await reload();
    } catch (e2) {
      showFormError(err, e2.status === 404 ? login : null, errorText(e2));
    } finally {
      if (save.isConnected) save.disabled = false;
    }
  });
  return {
    el,
    edit(m) {
      login.value = m.login;
      role.value = m.role;
      role.focus();
    },
  };
}

// The caller's own roles feed the rest of the pages (menu, filters,
// buttons): refresh them when the change was about the caller.
async function afterMembershipChange(login) {
  if (login.toLowerCase() === session.me.login.toLowerCase()) await refreshMe();
}

async function refreshMe() {
  try {
    const me = await get('/me');
    session.me = { ...session.me, ...me };
  } catch (e) { /* the next page load will fetch it again */ }
}

// --- admins: a new department ---

function newDepartmentForm(reload) {
  const name = h('input', { name: 'name', required: true, maxlength: 63, autocomplete: 'off', pattern: '[A-Za-z0-9 ._\\-]+' });
  const desc = h('input', { name: 'description', autocomplete: 'off' });
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create department');
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-dept-title', novalidate: true },
    h('h2', { id: 'new-dept-title', class: 'form-title' }, 'New department'),
    h('div', { class: 'form-grid' },
      field('Name', name, 'Letters, digits, space, dot, underscore, dash; at most 63.'),
      field('Description', desc)),
    err,
    h('div', { class: 'actions' }, create));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.hidden = true;
    name.removeAttribute('aria-invalid');
    if (!name.value.trim()) {
      showFormError(err, name, 'Give the department a name.');
      return;
    }
    create.disabled = true;
    try {
      const d = await post('/departments', { name: name.value.trim(), description: desc.value });
      toast('Department ' + d.name + ' created.', 'ok');
      form.reset();
      // Admins see every department in GET /me: the filters of other pages need the new one.
      await refreshMe();
      await reload();
    } catch (e2) {
      showFormError(err, e2.field === 'name' || e2.status === 409 ? name : null, errorText(e2));
    } finally {
      create.disabled = false;
    }
  });
  return form;
}
