// audit.js - the audit log, newest first: who changed what, when and from
// where, with each entry's object before and after the change (and the
// keys that changed).  Admins see every row; others the rows of their
// departments (the API decides).
//
// Filters and the page live in the hash (#/audit?department=2&action=job.run
// &before=123) so a view can be linked and the browser's Back goes to the
// newer page.  The API pages by id: `next` is the ?before= of the next page.

import { get } from '../api.js';
import { session } from '../session.js';
import { h, fill, timeEl, errorText, field, select, pageHeader, table } from '../ui.js';

const PAGE = 50;

// The actions tablecron writes (the filter matches exactly, so offer them).
const KNOWN_ACTIONS = [
  'job.create', 'job.update', 'job.delete', 'job.run', 'job.pause', 'job.resume', 'job.kill',
  'department.create', 'member.add', 'member.update', 'member.remove',
  'user.create', 'user.disable', 'user.enable', 'user.password', 'token.create', 'token.revoke',
];

export async function render(ctx) {
  const q = ctx.query;
  const filters = {
    department: q.get('department') || '',
    action: q.get('action') || '',
    before: q.get('before') || '',
    limit: q.get('limit') || '', // optional page size; the pages default to PAGE
  };
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  ctx.main.append(pageHeader('Audit log'), filterBar(ctx, filters), body);

  let data;
  try {
    data = await get('/audit', { ...filters, limit: filters.limit || PAGE });
  } catch (e) {
    fill(body, h('p', { class: 'error', role: 'alert' }, errorText(e)));
    return;
  }
  if (ctx.stale()) return;
  addSeenActions(data.items);
  fill(body,
    table(columns(), data.items, filters.before ? 'No older entries.' : 'No entries match.'),
    pager(ctx, filters, data.next));
}

// --- filters ---

function go(ctx, f) {
  ctx.navigate('#/audit' + hashQuery(f));
}

function hashQuery(f) {
  const p = new URLSearchParams();
  for (const k of ['department', 'action', 'before', 'limit']) if (f[k]) p.set(k, f[k]);
  const s = p.toString();
  return s ? '?' + s : '';
}

function filterBar(ctx, filters) {
  const depts = session.me.departments;
  const dept = select({ name: 'department' },
    [['', 'All departments'], ...depts.map((d) => [String(d.id), d.name])], filters.department);
  const action = h('input', {
    name: 'action', value: filters.action, list: 'audit-actions', autocomplete: 'off',
    spellcheck: 'false', autocapitalize: 'none', placeholder: 'e.g. job.update', title: 'The exact action name',
  });
  const actions = h('datalist', { id: 'audit-actions' }, [...allActions()].sort().map((a) => h('option', { value: a })));
  // A new filter starts again at the newest entries.
  const apply = () => go(ctx, { ...filters, department: dept.value, action: action.value.trim(), before: '' });
  dept.addEventListener('change', apply);
  action.addEventListener('change', apply);
  const form = h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Filter the audit log' },
    field('Department', dept), field('Action', action), actions,
    filters.department || filters.action
      ? h('div', { class: 'field' }, h('a', { class: 'button', href: '#/audit' }, 'Clear filters')) : null);
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  return form;
}

// Actions met in the entries shown, added to the known ones for the datalist
// (kept for this tab only, in memory).
const seenActions = new Set();
function addSeenActions(items) {
  let added = false;
  for (const it of items) {
    if (!KNOWN_ACTIONS.includes(it.action) && !seenActions.has(it.action)) {
      seenActions.add(it.action);
      added = true;
    }
  }
  const dl = document.getElementById('audit-actions');
  if (added && dl) fill(dl, [...allActions()].sort().map((a) => h('option', { value: a })));
}
function allActions() {
  return new Set([...KNOWN_ACTIONS, ...seenActions]);
}

function pager(ctx, filters, next) {
  const newest = filters.before
    ? h('a', { class: 'button', href: '#/audit' + hashQuery({ ...filters, before: '' }) }, 'Newest') : null;
  let older = null;
  if (next) {
    older = h('button', { type: 'button' }, 'Older');
    older.addEventListener('click', () => go(ctx, { ...filters, before: next }));
  }
  if (!newest && !older) return null;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' }, newest, older);
}

// --- the table ---

function columns() {
  return [
    { title: 'Time', cell: (e) => timeEl(e.at) },
    { title: 'Actor', cell: actorCell },
    { title: 'Action', cell: (e) => h('code', {}, e.action) },
    { title: 'Object', cell: objectCell },
    { title: 'Department', cell: (e) => departmentName(e.department_id) },
    { title: 'Client', cell: (e) => (e.remote_addr ? h('span', { class: 'mono' }, e.remote_addr) : h('span', { class: 'muted' }, '—')) },
    { title: 'Details', cell: detailsCell, class: 'audit-details' },
  ];
}

// "user:mana" → mana with its kind (user, token, cli) muted.
function actorCell(e) {
  const i = e.actor.indexOf(':');
  if (i < 0) return e.actor;
  return h('span', { title: e.actor }, h('span', { class: 'muted' }, e.actor.slice(0, i) + ' '), e.actor.slice(i + 1));
}

function objectCell(e) {
  if (!e.object_id) return e.object_type;
  const id = e.object_id;
  // A deleted job has no page any more, but the link still says which it was.
  if (e.object_type === 'job') return h('a', { href: '#/jobs/' + encodeURIComponent(id) }, 'job ' + id + jobName(e));
  if (e.object_type === 'execution') return h('a', { href: '#/executions/' + encodeURIComponent(id) }, 'execution #' + id);
  return e.object_type + ' ' + id + objectName(e);
}

// The name of the object from its image, when it has one: "job 3 (fail-b)".
function jobName(e) {
  const img = e.after || e.before;
  return img && typeof img.name === 'string' ? ' (' + img.name + ')' : '';
}
function objectName(e) {
  const img = e.after || e.before;
  if (!img) return '';
  const n = img.login || img.name;
  return typeof n === 'string' && n !== e.object_id ? ' (' + n + ')' : '';
}

function departmentName(id) {
  if (!id) return h('span', { class: 'muted' }, '—');
  const d = session.me.departments.find((x) => x.id === id);
  return d ? d.name : '#' + id;
}

// <details>: the changed keys, then both images pretty-printed.
function detailsCell(e) {
  if (!e.before && !e.after) return h('span', { class: 'muted' }, '—');
  const parts = [];
  if (e.before && e.after) parts.push(diffList(e.before, e.after));
  if (e.before) parts.push(h('h4', {}, 'Before'), h('pre', { class: 'json' }, JSON.stringify(e.before, null, 2)));
  if (e.after) parts.push(h('h4', {}, 'After'), h('pre', { class: 'json' }, JSON.stringify(e.after, null, 2)));
  const what = e.before && e.after ? 'changes' : e.after ? 'created' : 'removed';
  return h('details', {}, h('summary', {}, 'Details ', h('span', { class: 'muted' }, '(' + what + ')')), parts);
}

// The keys whose values differ, each as "key: old → new".
function diffList(before, after) {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changed = keys.filter((k) => stable(before[k]) !== stable(after[k]));
  if (!changed.length) return h('p', { class: 'muted' }, 'No field changed.');
  return h('div', { class: 'audit-diff' }, h('h4', {}, 'Changed'),
    h('ul', {}, changed.map((k) => h('li', {}, h('code', {}, k), ': ',
      h('del', {}, short(before[k])), ' → ', h('ins', {}, short(after[k]))))));
}

// JSON with sorted keys, so the same object compares equal whatever its order.
function stable(v) {
  if (v === undefined) return 'undefined';
  return JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x));
}

function short(v) {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 120 ? s.slice(0, 117) + '…' : s;
}
